"""ctypes binding of libnorm.so for the Python conformance tests (numpy arrays in and out)."""
import ctypes

import numpy as np

_fptr = ctypes.POINTER(ctypes.c_float)


class Opts(ctypes.Structure):
    """struct libnorm_opts (include/libnorm.h)."""
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("x_stride", ctypes.c_size_t),
        ("y_stride", ctypes.c_size_t),
        ("ith", ctypes.c_uint),
        ("nth", ctypes.c_uint),
        ("mean", _fptr),
        ("rstd", _fptr),
        ("flags", ctypes.c_uint),
        ("reserved", ctypes.c_uint),
    ]


def _ptr(a):
    return None if a is None else a.ctypes.data_as(_fptr)


class Libnorm:
    def __init__(self, path):
        self.lib = lib = ctypes.CDLL(path)
        lib.libnorm_layernorm_f32_ex.argtypes = [_fptr, _fptr, _fptr, _fptr, ctypes.c_size_t,
                                                 ctypes.c_size_t, ctypes.c_float,
                                                 ctypes.POINTER(Opts)]
        lib.libnorm_layernorm_f32_ex.restype = ctypes.c_int
        lib.libnorm_rmsnorm_f32_ex.argtypes = [_fptr, _fptr, _fptr, ctypes.c_size_t,
                                               ctypes.c_size_t, ctypes.c_float,
                                               ctypes.POINTER(Opts)]
        lib.libnorm_rmsnorm_f32_ex.restype = ctypes.c_int
        lib.libnorm_active_isa.restype = ctypes.c_char_p
        lib.libnorm_strerror.restype = ctypes.c_char_p
        lib.libnorm_strerror.argtypes = [ctypes.c_int]

    def isa(self):
        return self.lib.libnorm_active_isa().decode()

    @staticmethod
    def _f32(a):
        return None if a is None else np.ascontiguousarray(a, dtype=np.float32)

    def layernorm(self, x2d, w, b, eps):
        """x2d: [rows, dim] float32; w, b: [dim] or None. Returns (y, mean, rstd)."""
        x = self._f32(x2d)
        rows, dim = x.shape
        w, b = self._f32(w), self._f32(b)
        y = np.empty_like(x)
        mean = np.empty(rows, np.float32)
        rstd = np.empty(rows, np.float32)
        o = Opts(ctypes.sizeof(Opts), 0, 0, 0, 0, _ptr(mean), _ptr(rstd), 0)
        st = self.lib.libnorm_layernorm_f32_ex(_ptr(y), _ptr(x), _ptr(w), _ptr(b), rows, dim,
                                               float(eps), ctypes.byref(o))
        if st != 0:
            raise RuntimeError("libnorm_layernorm_f32_ex: %s" % self.lib.libnorm_strerror(st))
        return y, mean, rstd

    def rmsnorm(self, x2d, w, eps):
        x = self._f32(x2d)
        rows, dim = x.shape
        w = self._f32(w)
        y = np.empty_like(x)
        rstd = np.empty(rows, np.float32)
        o = Opts(ctypes.sizeof(Opts), 0, 0, 0, 0, None, _ptr(rstd), 0)
        st = self.lib.libnorm_rmsnorm_f32_ex(_ptr(y), _ptr(x), _ptr(w), rows, dim, float(eps),
                                             ctypes.byref(o))
        if st != 0:
            raise RuntimeError("libnorm_rmsnorm_f32_ex: %s" % self.lib.libnorm_strerror(st))
        return y, rstd
