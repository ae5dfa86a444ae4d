#!/usr/bin/python3
"""ONNX's own LayerNormalization node tests (Debian libonnx-testdata) run on libnorm.

Every case test_layer_normalization_* (and its *_expanded twin, the same data through the
function-expanded graph) is loaded with python3-onnx: axis and epsilon from model.onnx, inputs
and expected outputs from the TensorProto .pb files. ONNX normalizes over the trailing axes from
`axis`: X is flattened to [prod(shape[:axis]), prod(shape[axis:])], Scale and B are broadcast over
the normalized shape, Mean and InvStdDev come from libnorm_opts.mean / .rstd. Each output must be
within ONNX's backend-test tolerance (rtol 1e-3, atol 1e-7) of the expected one, and also within
8 FLT_EPSILON of an independent float64 numpy evaluation (relative to max(1, |y|)).
Cases that cannot be expressed (non-float32 tensors, stash_type other than float32) are listed.

    onnx_conformance.py PATH/TO/libnorm.so [TESTDATA_NODE_DIR]
Exits 77 (skip) when numpy/onnx or the test data are missing.
"""
import glob
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    print("onnx_conformance: SKIP: %s (Debian: python3-onnx python3-numpy, run with /usr/bin/python3)"
          % e)
    sys.exit(77)

from libnorm_ctypes import Libnorm  # noqa: E402

RTOL, ATOL = 1e-3, 1e-7
FLT_EPSILON = float(np.finfo(np.float32).eps)
CONTRACT = 8.0


def attrs_of(model_path):
    """(axis, epsilon, stash_type) of the case's LayerNormalization, or None when unknown."""
    m = onnx.load(model_path)
    for n in m.graph.node:
        if n.op_type == "LayerNormalization":
            a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
            return int(a.get("axis", -1)), float(a.get("epsilon", 1e-5)), int(a.get("stash_type", 1))
    # expanded function body: Constant nodes *_Axis1D and *_FloatEpsilon; stash type from the Cast
    axis = eps = None
    stash = 1
    for n in m.graph.node:
        if n.op_type == "Constant":
            out = n.output[0]
            val = numpy_helper.to_array(onnx.helper.get_attribute_value(n.attribute[0]))
            if out.endswith("_Axis1D"):
                axis = int(val.reshape(-1)[0])
            elif out.endswith("_FloatEpsilon"):
                eps = float(val)
        if n.op_type == "Cast" and n.output[0].endswith("_XU"):
            stash = int(onnx.helper.get_attribute_value(n.attribute[0]))
    if axis is None or eps is None:
        return None
    return axis, eps, stash


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t, numpy_helper.to_array(t)


def rel_err_f64(y, x2d, w, b, eps):
    """Worst error of y in FLT_EPSILON against a float64 LayerNorm, relative to
    max(1, |y64|)."""
    x = x2d.astype(np.float64)
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    xw = (x - mean) / np.sqrt(var + np.float64(np.float32(eps))) * w.astype(np.float64)
    y64 = xw + b.astype(np.float64)
    scale = np.maximum(1.0, np.abs(y64))
    return float(np.max(np.abs(y.astype(np.float64) - y64) / scale) / FLT_EPSILON)


def main():
    if len(sys.argv) < 2:
        print("usage: onnx_conformance.py libnorm.so [node_test_dir]")
        return 2
    lib = Libnorm(sys.argv[1])
    node_dir = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "ONNX_NODE_TESTDATA", "/usr/share/libonnx-testdata/data/node")
    cases = sorted(glob.glob(os.path.join(node_dir, "test_layer_normalization_*")))
    if not cases:
        print("onnx_conformance: SKIP: no test_layer_normalization_* under %s "
              "(Debian: libonnx-testdata)" % node_dir)
        return 77
    print("onnx_conformance: libnorm tier %s, onnx %s, %d cases from %s"
          % (lib.isa(), onnx.__version__, len(cases), node_dir))
    passed, failed, inexpressible = [], [], []
    worst_abs = worst_rel = worst_eps = 0.0
    for case in cases:
        name = os.path.basename(case)
        at = attrs_of(os.path.join(case, "model.onnx"))
        sibling = case[:-len("_expanded")] if case.endswith("_expanded") else None
        if sibling and os.path.isdir(sibling):
            at_sib = attrs_of(os.path.join(sibling, "model.onnx"))
            if at is None:
                at = at_sib
            elif at_sib is not None and (at[0] != at_sib[0] or
                                           np.float32(at[1]) != np.float32(at_sib[1])):
                failed.append((name, "expanded graph's axis/epsilon %s differ from %s's %s"
                               % (at, os.path.basename(sibling), at_sib)))
                continue
        if at is None:
            inexpressible.append((name, "axis/epsilon not found in model.onnx"))
            continue
        axis, eps, stash = at
        if stash != onnx.TensorProto.FLOAT:
            inexpressible.append((name, "stash_type %d (libnorm computes float32 I/O)" % stash))
            continue
        sets = sorted(glob.glob(os.path.join(case, "test_data_set_*")))
        case_ok, why = True, ""
        for ds in sets:
            ins = [load_pb(p) for p in sorted(glob.glob(os.path.join(ds, "input_*.pb")))]
            outs = [load_pb(p) for p in sorted(glob.glob(os.path.join(ds, "output_*.pb")))]
            types = [t.data_type for t, _ in ins + outs]
            if any(ty != onnx.TensorProto.FLOAT for ty in types):
                inexpressible.append((name, "tensor types %s (libnorm is float32 only)" % types))
                case_ok = None
                break
            x = ins[0][1]
            rank = x.ndim
            a = axis if axis >= 0 else axis + rank
            if not 0 <= a < rank:
                failed.append((name, "axis %d out of range for rank %d" % (axis, rank)))
                case_ok = False
                break
            norm_shape = x.shape[a:]
            rows = int(np.prod(x.shape[:a], dtype=np.int64))
            dim = int(np.prod(norm_shape, dtype=np.int64))
            w = np.broadcast_to(ins[1][1], norm_shape).reshape(-1)
            b = (np.broadcast_to(ins[2][1], norm_shape).reshape(-1) if len(ins) > 2
                 else np.zeros(dim, np.float32))
            x2d = x.reshape(rows, dim)
            y, mean, rstd = lib.layernorm(x2d, w, b if len(ins) > 2 else None, eps)
            got = [y.reshape(x.shape), mean, rstd]
            for k, (t, ref) in enumerate(outs):
                g = got[k].reshape(-1) if k else got[k]
                r = ref.reshape(-1) if k else ref
                if g.shape != r.shape:
                    case_ok, why = False, "output %d has %s elements, expected %s" % (
                        k, g.shape, r.shape)
                    break
                err = np.abs(g.astype(np.float64) - r.astype(np.float64))
                tol = ATOL + RTOL * np.abs(r.astype(np.float64))
                worst_abs = max(worst_abs, float(err.max()))
                worst_rel = max(worst_rel, float((err / np.maximum(np.abs(r), 1e-30)).max()))
                if not np.all(err <= tol):
                    i = int(np.argmax(err - tol))
                    case_ok, why = False, "%s: output %d element %d = %.9g, expected %.9g" % (
                        os.path.basename(ds), k, i, g[i] if k else g.reshape(-1)[i],
                        r[i] if k else r.reshape(-1)[i])
                    break
            if not case_ok:
                break
            e64 = rel_err_f64(y, x2d, w, b, eps)
            worst_eps = max(worst_eps, e64)
            if not e64 <= CONTRACT:
                case_ok, why = False, "%.3g FLT_EPSILON from float64 numpy" % e64
                break
        if case_ok is None:
            continue
        if not sets:
            failed.append((name, "no test_data_set_*"))
        elif case_ok:
            passed.append(name)
            print("  ok   %-58s axis %2d eps %-8.3g" % (name, axis, eps))
        else:
            failed.append((name, why))
    for n, why in failed:
        print("  FAIL %s: %s" % (n, why))
    for n, why in inexpressible:
        print("  not expressible: %s: %s" % (n, why))
    print("onnx_conformance: max |error| vs ONNX expected %.3g (max relative %.3g; tolerance rtol "
          "%g atol %g); worst %.2f FLT_EPSILON from float64 numpy"
          % (worst_abs, worst_rel, RTOL, ATOL, worst_eps))
    print("onnx_conformance: %d cases ok, %d failing, %d not expressible"
          % (len(passed), len(failed), len(inexpressible)))
    if failed or not passed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
