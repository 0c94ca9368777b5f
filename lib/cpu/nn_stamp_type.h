/* nn_stamp_type.h: one stamping of an nn kernel template, for the element type whose macros nn_stamp.h has just
 * defined (FN, T, V, VU, VL, VI, EXP, LOG, GEMM); it undefines them after, ready for the next type. No include
 * guard: nn_stamp.h includes it once per type. */
#include "rows_tmpl.h"
#include NN_TEMPLATE
#undef FN
#undef T
#undef V
#undef VU
#undef VL
#undef VI
#undef EXP
#undef LOG
#undef GEMM
