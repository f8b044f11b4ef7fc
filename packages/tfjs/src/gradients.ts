/**
 * Gradients of the two ops for tfjs's autodiff (`tf.grad`, `tf.variableGrads`, `optimizer.minimize`,
 * `model.fit`). One gradient kernel call computes every gradient of a node at once (dcnv2's backward
 * shares its sampling work between them), when tfjs asks the node for its gradients; the thunks tfjs then
 * calls hand them out. That call runs inside tfjs's backward tidy, so a gradient nobody asks for (a frozen
 * weight) is disposed with it: nothing leaks.
 */
import { engine, registerGradient, zerosLike, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';
import { OPS } from '@dcnv2/core';
import { duringGradientOf } from './host-cache.js';
import { DEFORM_CONV2D, DEFORM_CONV2D_GRAD, DEFORM_ROI_POOL, DEFORM_ROI_POOL_GRAD } from './kernel-names.js';

function gradFuncOf(gradKernel: string, differentiable: readonly string[]) {
  return (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap): Record<string, () => Tensor> => {
    // `saveAllInputs` keeps the forward call's inputs (an array) in order; `inputNames` names them.
    const names = attrs.inputNames as string[];
    const inputs: Record<string, Tensor> = {};
    names.forEach((n, i) => (inputs[n] = saved[i]!));
    const gradNames = names.filter((n) => differentiable.includes(n));
    // While it runs, the gradient kernel can find what the forward kernel kept for it under the forward
    // call's attribute object (host-cache.ts); the attributes themselves stay core's params.
    const grads = duringGradientOf(attrs, () => engine().runKernel(gradKernel, { ...inputs, gradOutput: dy as Tensor }, { ...attrs, gradNames })) as unknown as Tensor[];
    // Keyed as the forward call's inputs were: by position (see ops.ts).
    const thunks: Record<string, () => Tensor> = {};
    names.forEach((n, position) => {
      const i = gradNames.indexOf(n);
      // Inputs without a gradient (RoIs) get zeros, so a model may still hold them in variables.
      thunks[position] = i >= 0 ? () => grads[i]! : () => zerosLike(inputs[n]!);
    });
    return thunks;
  };
}

export function registerGradients(): void {
  registerGradient({ kernelName: DEFORM_CONV2D, saveAllInputs: true, gradFunc: gradFuncOf(DEFORM_CONV2D_GRAD, OPS.deform_conv2d.grads) as never });
  registerGradient({ kernelName: DEFORM_ROI_POOL, saveAllInputs: true, gradFunc: gradFuncOf(DEFORM_ROI_POOL_GRAD, OPS.deform_roi_pool.grads) as never });
}
