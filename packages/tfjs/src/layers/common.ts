/**
 * What the two layers share: option checks that throw @dcnv2/core's typed errors, initializers and
 * regularizers given by name, object or serialized form (and back), and the layers' activations.
 */
import { ParamError } from '@dcnv2/core';
import { elu, mul, relu, relu6, selu, sigmoid, softplus, tanh, abs, add, div, serialization, type Tensor } from '@tensorflow/tfjs-core';
import { initializers, regularizers } from '@tensorflow/tfjs-layers';

/** A tfjs-layers initializer (the type is not exported by name). */
export type Initializer = ReturnType<typeof initializers.zeros>;
/** A tfjs-layers regularizer. */
export type Regularizer = ReturnType<typeof regularizers.l1l2>;

/** An initializer by name (`'glorotUniform'`, `'zeros'`, ...), as an object, or serialized (`{ className, config }`). */
export type InitializerSpec = string | Initializer | { className: string; config?: serialization.ConfigDict };
/** A regularizer by name (`'l1l2'`), as an object (`tf.regularizers.l2()`), or serialized. */
export type RegularizerSpec = string | Regularizer | { className: string; config?: serialization.ConfigDict };

/** tfjs layers' names for the layout: 'channelsLast' (NHWC, default) or 'channelsFirst' (NCHW). */
export type LayerDataFormat = 'channelsLast' | 'channelsFirst';

export function positiveInt(v: unknown, argument: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ParamError({ argument, expected: 'a positive integer', actual: v });
  return v;
}

export function nonNegativeInt(v: unknown, argument: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ParamError({ argument, expected: 'a non-negative integer', actual: v });
  return v;
}

export function finitePositive(v: unknown, argument: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ParamError({ argument, expected: 'a finite number > 0', actual: v });
  return v;
}

/** One positive integer for both axes or `[h, w]`. */
export function positivePair(v: unknown, argument: string): [number, number] {
  if (typeof v === 'number') {
    positiveInt(v, argument);
    return [v, v];
  }
  if (Array.isArray(v) && v.length === 2) return [positiveInt(v[0], `${argument}[0]`), positiveInt(v[1], `${argument}[1]`)];
  throw new ParamError({ argument, expected: 'a positive integer or [h, w] of positive integers', actual: v });
}

export function dataFormatOf(v: unknown, argument: string): LayerDataFormat {
  if (v === undefined || v === null) return 'channelsLast';
  if (v !== 'channelsLast' && v !== 'channelsFirst') throw new ParamError({ argument, expected: "'channelsLast' or 'channelsFirst'", actual: v });
  return v;
}

export function booleanOf(v: unknown, dflt: boolean, argument: string): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new ParamError({ argument, expected: 'a boolean', actual: v });
  return v;
}

/** A class registered with tfjs's serialization map (tfjs-layers registers its initializers and regularizers there). */
function fromRegistry<T>(className: string, config: serialization.ConfigDict, argument: string, what: string): T {
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) throw new ParamError({ argument, expected: `a tfjs-layers ${what} (name, object or { className, config })`, actual: className });
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config) as unknown as T;
}

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function isSerialized(v: unknown): v is { className: string; config?: serialization.ConfigDict } {
  return typeof v === 'object' && v !== null && typeof (v as { className?: unknown }).className === 'string' && !(v instanceof serialization.Serializable);
}

export function initializerOf(v: unknown, dflt: string, argument: string): Initializer {
  if (v === undefined || v === null) v = dflt;
  if (v instanceof serialization.Serializable) return v as Initializer;
  // tfjs's identifiers are the class names with a lower-case first letter ('glorotUniform' -> GlorotUniform).
  if (typeof v === 'string') return fromRegistry<Initializer>(capitalised(v), {}, argument, 'initializer');
  if (isSerialized(v)) return fromRegistry<Initializer>(v.className, v.config ?? {}, argument, 'initializer');
  throw new ParamError({ argument, expected: 'a tfjs-layers initializer (name, object or { className, config })', actual: v });
}

export function regularizerOf(v: unknown, argument: string): Regularizer | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof serialization.Serializable) return v as Regularizer;
  if (typeof v === 'string') return fromRegistry<Regularizer>(v === 'l1l2' ? 'L1L2' : capitalised(v), {}, argument, 'regularizer');
  if (isSerialized(v)) return fromRegistry<Regularizer>(v.className, v.config ?? {}, argument, 'regularizer');
  throw new ParamError({ argument, expected: "a tfjs-layers regularizer ('l1l2', tf.regularizers.l2(), or { className, config })", actual: v });
}

/** `{ className, config }`, as tfjs-layers serializes initializers and regularizers; null for none. */
export function serialize(v: serialization.Serializable | undefined): serialization.ConfigDict | null {
  if (v === undefined) return null;
  return { className: v.getClassName(), config: v.getConfig() };
}

/** The element-wise activations the layers take, by tfjs's names. */
export const ACTIVATIONS: Readonly<Record<string, (x: Tensor) => Tensor>> = {
  linear: (x) => x,
  relu: (x) => relu(x),
  relu6: (x) => relu6(x),
  elu: (x) => elu(x),
  selu: (x) => selu(x),
  sigmoid: (x) => sigmoid(x),
  tanh: (x) => tanh(x),
  softplus: (x) => softplus(x),
  softsign: (x) => div(x, add(abs(x), 1)),
  swish: (x) => mul(x, sigmoid(x)),
  mish: (x) => mul(x, tanh(softplus(x))),
};

export function activationOf(v: unknown, argument: string): string {
  if (v === undefined || v === null) return 'linear';
  if (typeof v !== 'string' || !Object.prototype.hasOwnProperty.call(ACTIVATIONS, v)) {
    throw new ParamError({ argument, expected: `one of ${Object.keys(ACTIVATIONS).map((k) => `'${k}'`).join(', ')}`, actual: v });
  }
  return v;
}
