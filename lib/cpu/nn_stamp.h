/* nn_stamp.h: stamps an nn kernel template for float32 and float64. The includer defines NN_TEMPLATE as the
 * template's file name, then includes this file; the template (and rows_tmpl.h, included before it) sees
 * FN(name) (name_f32 or name_f64), the element type T, its vector V, the unaligned vector VU, the lanes per
 * vector VL, the lane-index vector VI, and the type's EXP, LOG and GEMM (nn_stamp_type.h stamps it for each type
 * defined here). No include guard: each inclusion stamps another template. */

#define FN(name) name##_f32
#define T float
#define V tn_vf32
#define VU tn_vf32u
#define VL TN_VL_F32
#define VI tn_vi32
#define EXP tn_expf
#define LOG logf
#define GEMM tn_cpu_cblas_sgemm
#include "nn_stamp_type.h"

#define FN(name) name##_f64
#define T double
#define V tn_vf64
#define VU tn_vf64u
#define VL TN_VL_F64
#define VI tn_vi64
#define EXP exp
#define LOG log
#define GEMM tn_cpu_cblas_dgemm
#include "nn_stamp_type.h"

#undef NN_TEMPLATE
