#!/usr/bin/env python3
"""Worker process of @dcnv2/bench for the PyTorch peers, speaking the same protocol as the Node workers
(src/protocol.ts) as JSON lines: one request per line on stdin, one reply per line on stdout.

Adapters:
  torchvision           torchvision.ops.deform_conv2d on the CPU, forward and forward + backward (all five
                        gradients)
  dense-torch           torch.nn.functional.conv2d of the same shape, the dense yardstick with a backward
  roialign-torchvision  torchvision.ops.roi_align(aligned=True) on the CPU (deform_roi_pool cases): plain
                        RoIAlign, the yardstick of RoI pooling without offsets and masks; its backward gives
                        the input's gradient (RoIs are not differentiated)

Inputs come from the coordinator's tensor file (src/tensor-file.ts layout); outputs for the agreement check are
written in the same layout. Timings are taken here with time.perf_counter around each run, so neither the pipe
nor Python start-up is measured. torch.set_num_threads follows --threads. The forward direction runs under
torch.no_grad() (inference, as a deployed model runs); forward + backward builds the graph and calls
backward(gradOutput), resetting the gradients before each run as a training step does.

Nothing but protocol replies may reach the real stdout: it is duplicated for the replies and fd 1 is pointed at
stderr, so library chatter (from C code too) cannot corrupt the channel.
"""
import json
import os
import resource
import sys
import time
import traceback

MAGIC = b"DCNBENCH"


class Skip(Exception):
    """The case cannot run here (missing package, unsupported parameters): reported as skipped."""


def read_tensor_file(path):
    import numpy as np

    with open(path, "rb") as f:
        buf = f.read()
    if buf[:8] != MAGIC:
        raise ValueError(f"{path}: not a dcnv2 bench tensor file")
    header_len = int.from_bytes(buf[8:12], "little")
    header = json.loads(buf[12 : 12 + header_len].decode("utf-8"))
    data_start = (12 + header_len + 3) & ~3
    tensors = {}
    for t in header["tensors"]:
        arr = np.frombuffer(buf, dtype="<f4", count=t["length"], offset=data_start + t["offset"])
        tensors[t["name"]] = arr.reshape(t["shape"]).astype(np.float32, copy=True)
    return header["meta"], tensors


def write_tensor_file(path, meta, tensors):
    import numpy as np

    entries = []
    blobs = []
    offset = 0
    for name, arr in tensors:
        a = np.ascontiguousarray(arr, dtype="<f4")
        entries.append({"name": name, "shape": list(a.shape), "offset": offset, "length": int(a.size)})
        blobs.append(a.tobytes())
        offset += a.size * 4
    header = json.dumps({"meta": meta, "tensors": entries}).encode("utf-8")
    data_start = (12 + len(header) + 3) & ~3
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(len(header).to_bytes(4, "little"))
        f.write(header)
        f.write(b"\0" * (data_start - 12 - len(header)))
        for b in blobs:
            f.write(b)


def memory_snapshot():
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/statm") as f:
        rss_pages = int(f.read().split()[1])
    # ru_maxrss is in KiB on Linux and follows a reset of the high-water mark (settle_memory).
    return {
        "rssBytes": rss_pages * page,
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "wasmBytes": None,
    }


def settle_memory():
    """After setup: drop garbage, then restart the peak-RSS count from the current RSS (Linux's clear_refs 5),
    so that the peak measured later is the peak while the op runs, not a transient of loading the case."""
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # not Linux, or not allowed: the peak then covers the whole process life


def import_torchvision():
    """(torchvision, torchvision.ops), or Skip when python3 cannot import them."""
    try:
        import torchvision
        import torchvision.ops as ops
    except Exception as e:
        raise Skip(f"torchvision is not importable by {sys.executable}: {e}")
    return torchvision, ops


class Runner:
    def __init__(self, adapter, threads, direction, meta, tensors):
        try:
            import torch
        except Exception as e:  # ImportError, or a broken install (missing shared library)
            raise Skip(f"torch is not importable by {sys.executable}: {e}")
        self.torch = torch
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already set in this process
        self.threads = torch.get_num_threads()
        self.direction = direction
        g = meta["geometry"]
        t = {k: torch.from_numpy(v) for k, v in tensors.items()}
        self.grad_output = t["gradOutput"]
        if adapter in ("torchvision", "dense-torch"):
            self.op, self.names = self.conv_op(adapter, g)
        elif adapter == "roialign-torchvision":
            self.op, self.names = self.roi_align_op(g, t["rois"])
        else:
            raise ValueError(f"unknown adapter {adapter}")
        self.leaves = [t[n].clone().requires_grad_(direction == "fwdbwd") for n in self.names]

    def conv_op(self, adapter, g):
        """deform_conv2d or the dense conv of a deform_conv2d case: (op, names of the tensors it takes)."""
        torch = self.torch
        if g["padTop"] != g["padBottom"] or g["padLeft"] != g["padRight"]:
            raise Skip("torch takes symmetric padding only")
        stride = (g["strideH"], g["strideW"])
        padding = (g["padTop"], g["padLeft"])
        dilation = (g["dilationH"], g["dilationW"])
        groups = g["groups"]
        if adapter == "torchvision":
            torchvision, ops = import_torchvision()
            self.version = f"torch {torch.__version__}, torchvision {torchvision.__version__} (cpu)"

            def op(x, offset, mask, weight, bias):
                # torchvision infers groups from the weight and offset groups from the offset's channels.
                return ops.deform_conv2d(x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation, mask=mask)

            return op, ["input", "offset", "mask", "weight", "bias"]
        import torch.nn.functional as F

        self.version = f"torch {torch.__version__} (cpu, conv2d)"

        def op(x, weight, bias):
            return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

        return op, ["input", "weight", "bias"]

    def roi_align_op(self, g, rois):
        """Plain RoIAlign of a deform_roi_pool case, torchvision's aligned=True (half-pixel) definition."""
        torchvision, ops = import_torchvision()
        self.version = f"torch {self.torch.__version__}, torchvision {torchvision.__version__} (cpu, roi_align)"
        output_size = (g["pooledH"], g["pooledW"])
        scale = float(g["spatialScale"])
        ratio = g["samplingRatio"]

        def op(x):
            return ops.roi_align(x, rois, output_size, spatial_scale=scale, sampling_ratio=ratio, aligned=True)

        return op, ["input"]

    def run(self):
        if self.direction == "fwd":
            with self.torch.no_grad():
                return self.op(*self.leaves), None
        for leaf in self.leaves:
            leaf.grad = None
        y = self.op(*self.leaves)
        y.backward(self.grad_output)
        return y, {n: leaf.grad for n, leaf in zip(self.names, self.leaves)}

    def outputs(self):
        y, grads = self.run()
        out = [("output", y.detach().numpy())]
        if grads is not None:
            for n in ["input", "offset", "mask", "weight", "bias"]:
                if n in grads and grads[n] is not None:
                    out.append(("grad_" + n, grads[n].numpy()))
        return out


def handle(req, state):
    op = req["op"]
    if op == "setup":
        meta, tensors = read_tensor_file(req["caseFile"])
        runner = Runner(req["adapter"], req["threads"], req["direction"], meta, tensors)
        state["runner"] = runner
        settle_memory()
        return {"ok": True, "version": runner.version, "threads": runner.threads, "wasm": False, "memory": memory_snapshot()}
    runner = state.get("runner")
    if op == "exit":
        return None
    if op == "memory":
        return {"ok": True, "memory": memory_snapshot()}
    if runner is None:
        return {"ok": False, "error": f"{op} before setup"}
    if op == "check":
        out = runner.outputs()
        write_tensor_file(req["outFile"], {}, out)
        return {"ok": True, "tensors": [n for n, _ in out]}
    if op == "run":
        times = []
        for _ in range(req["count"]):
            t0 = time.perf_counter()
            runner.run()
            times.append((time.perf_counter() - t0) * 1e3)
        return {"ok": True, "timesMs": times}
    return {"ok": False, "error": f"unknown request {op}"}


def main():
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    state = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            reply = handle(req, state)
        except Skip as e:
            reply = {"ok": False, "skip": str(e)}
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc()}
        if reply is None:
            break
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
