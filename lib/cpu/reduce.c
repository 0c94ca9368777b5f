/* reduce.c: the CPU reduction driver. It plans how to walk the input, splits the work across threads, and
 * feeds the per-dtype kernels of reduce_kernels.c (reduce.h describes the contract).
 *
 * Planning: size-1 dims are dropped; the rest are sorted by the input's strides (smallest first, broadcast
 * dims last) and neighbours of the same kind (both reduced or both kept) that step through memory as one are
 * merged. Then
 *  - an inner reduction (the innermost dim is reduced) gives each output runs along that dim: contiguous
 *    runs go to the kernel as they are, strided ones are gathered into a buffer first;
 *  - an outer reduction (the innermost dim is kept) takes blocks of up to RK_BLOCK neighbouring outputs and
 *    feeds them whole rows, so the kernel vectorises across the outputs.
 * Work units are outputs (inner) or blocks (outer). When there are few units and much to reduce, each unit's
 * reduction is split into fixed-size chunks whose partial states are merged in order afterwards. Chunking
 * depends only on the shapes, so results do not depend on the number of threads. */
#include "../reduce_ops.h"
#include "cpu.h"
#include "reduce.h"

#include <omp.h>
#include <stdlib.h>

enum {
  CASCADE_FAN = 8,     /* partial states merged per cascade level */
  CASCADE_LEVELS = 16, /* 8^16 leaves */
  CHUNK = 1 << 16,     /* elements of one chunk of a split reduction */
  FEW_UNITS = 16,      /* split reductions with fewer work units than this */
  LINE_BATCH = 64      /* outputs of short contiguous runs initialised and finished together */
};

typedef struct rdim {
  int64_t size;
  int64_t xs, os0, os1; /* byte strides of the input and the two outputs (0 for reduced dims) */
  bool reduced;
} rdim;

typedef struct plan {
  const rk_kernel *k;
  rk_ctx ctx;
  const char *x;
  char *o0, *o1;
  int64_t es; /* input element size */
  int nd;
  rdim d[TN_MAX_DIMS + 1];
  int nk, nr;                  /* kept and reduced dims, innermost first (indices into d) */
  int kd[TN_MAX_DIMS + 1], rd[TN_MAX_DIMS + 1];
  bool inner;                  /* d[0] is reduced */
  int64_t n_red;               /* elements reduced into each output */
  int64_t block;               /* outer: outputs per block (of d[0]) */
  int64_t nblocks;             /* outer: blocks along d[0] */
  int64_t units;               /* inner: outputs; outer: blocks times the other kept positions */
  int64_t chunk;               /* elements (inner) or rows (outer) of the reduced space per chunk */
  int64_t nchunks;
  int64_t slot_bytes;          /* bytes of one state block, rounded up to 64 */
} plan;

static int64_t stride_key(const rdim *d) { return d->xs == 0 ? INT64_MAX : d->xs; }

static void make_plan(plan *pl, const tn_tensor *x, const tn_tensor *o0, const tn_tensor *o1, uint32_t reduced) {
  pl->es = tn_dtype_size(x->dtype);
  int64_t es0 = tn_dtype_size(o0->dtype), es1 = o1 ? tn_dtype_size(o1->dtype) : 0;
  rdim dims[TN_MAX_DIMS + 1];
  int nd = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (x->sizes[i] == 1) continue;
    bool red = (reduced >> i) & 1;
    dims[nd++] = (rdim){x->sizes[i], x->strides[i] * pl->es, red ? 0 : o0->strides[i] * es0,
                        red || !o1 ? 0 : o1->strides[i] * es1, red};
  }
  /* stable insertion sort, innermost first */
  for (int i = 1; i < nd; i++)
    for (int j = i; j > 0 && stride_key(&dims[j]) < stride_key(&dims[j - 1]); j--) {
      rdim t = dims[j];
      dims[j] = dims[j - 1];
      dims[j - 1] = t;
    }
  /* merge neighbours of one kind that step through memory as one dim */
  int out = 0;
  for (int i = 0; i < nd; i++) {
    if (out > 0) {
      rdim *p = &pl->d[out - 1], *q = &dims[i];
      if (p->reduced == q->reduced && q->xs == p->xs * p->size && q->os0 == p->os0 * p->size &&
          q->os1 == p->os1 * p->size) {
        p->size *= q->size;
        continue;
      }
    }
    pl->d[out++] = dims[i];
  }
  nd = out;
  pl->nk = pl->nr = 0;
  for (int i = 0; i < nd; i++) {
    if (pl->d[i].reduced)
      pl->rd[pl->nr++] = i;
    else
      pl->kd[pl->nk++] = i;
  }
  if (pl->nr == 0) { /* each output reduces one element: a reduced dim of size 1, outermost */
    pl->d[nd] = (rdim){1, 0, 0, 0, true};
    pl->rd[pl->nr++] = nd++;
  }
  pl->nd = nd;
  pl->inner = pl->d[0].reduced;
  pl->n_red = 1;
  for (int i = 0; i < pl->nr; i++) pl->n_red *= pl->d[pl->rd[i]].size;
  int64_t kept = 1;
  for (int i = 0; i < pl->nk; i++) kept *= pl->d[pl->kd[i]].size;
  if (pl->inner) {
    pl->block = 1;
    pl->nblocks = 1;
    pl->units = kept;
  } else {
    int64_t cols = pl->d[0].size;
    pl->block = cols < RK_BLOCK ? cols : RK_BLOCK;
    pl->nblocks = (cols + pl->block - 1) / pl->block;
    pl->units = kept / cols * pl->nblocks;
  }
  /* split the reduction of few units into chunks (rows of an outer reduction: a multiple of RK_LEAF) */
  int64_t chunk = pl->inner ? CHUNK : (CHUNK / pl->block + RK_LEAF - 1) / RK_LEAF * RK_LEAF;
  pl->chunk = pl->n_red;
  pl->nchunks = 1;
  if (pl->units < FEW_UNITS && pl->n_red > 2 * chunk) {
    pl->chunk = chunk;
    pl->nchunks = (pl->n_red + chunk - 1) / chunk;
  }
  pl->slot_bytes = (pl->block * pl->k->state_size + 63) / 64 * 64;
}

/* ---- walking the reduced space: segments along its innermost dim ---- */

typedef struct rwalk {
  const plan *pl;
  int64_t idx[TN_MAX_DIMS + 1];
  int64_t off;  /* byte offset of the current position */
  int64_t left; /* positions left in the range */
} rwalk;

static void rwalk_init(rwalk *w, const plan *pl, int64_t begin, int64_t end) {
  w->pl = pl;
  w->off = 0;
  w->left = end - begin;
  if (begin == 0) {
    memset(w->idx, 0, sizeof w->idx[0] * (size_t)pl->nr);
    return;
  }
  for (int i = 0; i < pl->nr; i++) {
    const rdim *d = &pl->d[pl->rd[i]];
    w->idx[i] = begin % d->size;
    begin /= d->size;
    w->off += w->idx[i] * d->xs;
  }
}

/* The next segment of at most max positions along the innermost reduced dim: its length (0 at the end),
 * byte offset and index along that dim. */
static int64_t rwalk_next(rwalk *w, int64_t max, int64_t *off, int64_t *index) {
  if (w->left == 0) return 0;
  const plan *pl = w->pl;
  const rdim *d0 = &pl->d[pl->rd[0]];
  int64_t n = d0->size - w->idx[0];
  if (n > max) n = max;
  if (n > w->left) n = w->left;
  *off = w->off;
  *index = w->idx[0];
  w->left -= n;
  w->idx[0] += n;
  w->off += n * d0->xs;
  for (int i = 0; i + 1 < pl->nr && w->idx[i] == pl->d[pl->rd[i]].size; i++) {
    const rdim *d = &pl->d[pl->rd[i]], *e = &pl->d[pl->rd[i + 1]];
    w->off += e->xs - d->size * d->xs;
    w->idx[i] = 0;
    w->idx[i + 1]++;
  }
  return n;
}

/* ---- the cascade: partial states merged pairwise-like, in order ---- */

typedef struct scratch {
  char *acc, *tmp, *levels, *gather;
  int count[CASCADE_LEVELS];
} scratch;

static void cascade_reset(scratch *s) { memset(s->count, 0, sizeof s->count); }

static char *level(const plan *pl, scratch *s, int l) { return s->levels + l * pl->slot_bytes; }

/* Adds the state `src` (n slots) after everything pushed so far. */
static void cascade_push(const plan *pl, scratch *s, const char *src, int64_t n) {
  const rk_kernel *k = pl->k;
  if (s->count[0]++ == 0)
    memcpy(level(pl, s, 0), src, (size_t)(n * k->state_size));
  else
    k->combine(level(pl, s, 0), src, n);
  for (int l = 0; l + 1 < CASCADE_LEVELS && s->count[l] == CASCADE_FAN; l++) {
    if (s->count[l + 1]++ == 0)
      memcpy(level(pl, s, l + 1), level(pl, s, l), (size_t)(n * k->state_size));
    else
      k->combine(level(pl, s, l + 1), level(pl, s, l), n);
    s->count[l] = 0;
  }
}

/* Merges the levels, earliest (highest) first, into `dst` (initialised: the identity state). */
static void cascade_collapse(const plan *pl, scratch *s, char *dst, int64_t n) {
  for (int l = CASCADE_LEVELS - 1; l >= 0; l--)
    if (s->count[l]) pl->k->combine(dst, level(pl, s, l), n);
}

/* ---- one work item: a unit's reduction over [begin, end) of its reduced space, into `st` ---- */

/* Locates unit u: its byte offsets in the input and the two outputs; returns its width (outputs). */
static int64_t unit_locate(const plan *pl, int64_t u, int64_t *xo, int64_t *o0, int64_t *o1) {
  int64_t n = 1;
  int first = 0;
  *xo = *o0 = *o1 = 0;
  if (!pl->inner) {
    const rdim *c = &pl->d[0];
    int64_t start = u % pl->nblocks * pl->block;
    u /= pl->nblocks;
    n = c->size - start < pl->block ? c->size - start : pl->block;
    *xo += start * c->xs, *o0 += start * c->os0, *o1 += start * c->os1;
    first = 1;
  }
  for (int i = first; i < pl->nk; i++) {
    const rdim *d = &pl->d[pl->kd[i]];
    int64_t at = u % d->size;
    u /= d->size;
    *xo += at * d->xs, *o0 += at * d->os0, *o1 += at * d->os1;
  }
  return n;
}

static void gather(char *dst, const char *src, int64_t stride, int64_t n, int64_t es) {
  switch (es) {
    case 1: for (int64_t i = 0; i < n; i++) dst[i] = src[i * stride]; break;
    case 2: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = *(const uint16_t *)(src + i * stride); break;
    case 4: for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[i] = *(const uint32_t *)(src + i * stride); break;
    default: for (int64_t i = 0; i < n; i++) ((uint64_t *)dst)[i] = *(const uint64_t *)(src + i * stride); break;
  }
}

static void reduce_item(const plan *pl, scratch *s, const char *base, int64_t begin, int64_t end, char *st,
                        int64_t n) {
  const rk_kernel *k = pl->k;
  const rdim *r0 = &pl->d[pl->rd[0]];
  rwalk w;
  rwalk_init(&w, pl, begin, end);
  k->init(st, n);
  int64_t len, off, index;
  /* a range that is one piece (or one leaf) needs no cascade */
  bool cascade = k->cascade && !(pl->nr == 1 && end - begin <= (pl->inner ? RK_PIECE : RK_LEAF));
  if (cascade) cascade_reset(s);
  if (pl->inner) {
    bool dense = r0->xs == pl->es;
    while ((len = rwalk_next(&w, RK_PIECE, &off, &index))) {
      const char *p = base + off;
      if (!dense) {
        gather(s->gather, p, r0->xs, len, pl->es);
        p = s->gather;
      }
      if (cascade) {
        k->init(s->tmp, 1);
        k->run(s->tmp, 1, 0, p, len, index, &pl->ctx);
        cascade_push(pl, s, s->tmp, 1);
      } else {
        k->run(st, 1, 0, p, len, index, &pl->ctx);
      }
    }
  } else {
    const rdim *c = &pl->d[0];
    bool dense = c->xs == pl->es;
    while ((len = rwalk_next(&w, RK_LEAF, &off, &index))) {
      const char *p = base + off;
      int64_t rs = r0->xs;
      if (!dense) {
        for (int64_t r = 0; r < len; r++) gather(s->gather + r * n * pl->es, p + r * rs, c->xs, n, pl->es);
        p = s->gather;
        rs = n * pl->es;
      }
      if (cascade) {
        k->init(s->tmp, n);
        k->rows(s->tmp, n, p, rs, len, index, &pl->ctx);
        cascade_push(pl, s, s->tmp, n);
      } else {
        k->rows(st, n, p, rs, len, index, &pl->ctx);
      }
    }
  }
  if (cascade) cascade_collapse(pl, s, st, n);
}

/* Writes the results of n outputs at byte offsets o0, o1 of the outputs from their state. */
static void finish_at(const plan *pl, int64_t o0, int64_t o1, const char *st, int64_t n) {
  const rdim *c = &pl->d[0];
  pl->k->finish(pl->o0 + o0, pl->inner ? 0 : c->os0, pl->o1 ? pl->o1 + o1 : NULL, pl->inner ? 0 : c->os1, st, n,
                &pl->ctx);
}

/* Scratch space: the accumulator, a temporary state, the cascade's levels and (for strided inputs) a gather
 * buffer. Small plans use the caller's stack buffer; larger ones allocate. */
enum { SCRATCH_LOCAL = 4096 };

static bool scratch_alloc(const plan *pl, scratch *s, char *local) {
  int64_t sb = pl->slot_bytes;
  bool dense = pl->inner ? pl->d[pl->rd[0]].xs == pl->es : pl->d[0].xs == pl->es;
  int64_t gather = dense ? 0 : pl->inner ? RK_PIECE * pl->es : RK_LEAF * pl->block * pl->es;
  int64_t levels = pl->k->cascade ? CASCADE_LEVELS : 0;
  int64_t bytes = sb * (2 + levels) + gather;
  char *mem = bytes <= SCRATCH_LOCAL ? local : malloc((size_t)bytes);
  if (!mem) return false;
  s->acc = mem;
  s->tmp = mem + sb;
  s->levels = mem + 2 * sb;
  s->gather = mem + (2 + levels) * sb;
  return true;
}

static void scratch_free(scratch *s, char *local) {
  if (s->acc != local) free(s->acc);
}

/* Units [begin, end) of an unchunked inner reduction, one output each: the units are walked with an odometer
 * over the kept dims rather than located one by one (the divisions cost as much as a short run). */
static void run_lines(const plan *pl, scratch *s, int64_t begin, int64_t end) {
  int64_t idx[TN_MAX_DIMS + 1], xo, o0, o1;
  unit_locate(pl, begin, &xo, &o0, &o1);
  int64_t rest = begin;
  for (int i = 0; i < pl->nk; i++) {
    const rdim *d = &pl->d[pl->kd[i]];
    idx[i] = rest % d->size;
    rest /= d->size;
  }
  /* The common case, each output one contiguous piece: straight to the kernel, a batch of neighbours along the
   * innermost kept dim at a time, with one init and one finish a batch (short rows spent as long in the calls
   * around each run as in the run). */
  const rk_kernel *k = pl->k;
  bool piece = pl->nr == 1 && pl->n_red <= RK_PIECE && pl->d[pl->rd[0]].xs == pl->es && pl->nk > 0 &&
               k->state_size <= RK_MAX_STATE;
  const rdim *d0 = piece ? &pl->d[pl->kd[0]] : NULL;
  _Alignas(64) char batch[LINE_BATCH * RK_MAX_STATE];
  for (int64_t u = begin; u < end;) {
    int64_t b = 1;
    if (piece) {
      b = end - u < d0->size - idx[0] ? end - u : d0->size - idx[0];
      b = b < LINE_BATCH ? b : LINE_BATCH;
      k->init(batch, b);
      for (int64_t j = 0; j < b; j++) k->run(batch, b, j, pl->x + xo + j * d0->xs, pl->n_red, 0, &pl->ctx);
      k->finish(pl->o0 + o0, d0->os0, pl->o1 ? pl->o1 + o1 : NULL, d0->os1, batch, b, &pl->ctx);
    } else {
      reduce_item(pl, s, pl->x + xo, 0, pl->n_red, s->acc, 1);
      k->finish(pl->o0 + o0, 0, pl->o1 ? pl->o1 + o1 : NULL, 0, s->acc, 1, &pl->ctx);
    }
    u += b;
    for (int i = 0; i < pl->nk; i++) { /* the next unit, b along the innermost kept dim (never past its end) */
      const rdim *d = &pl->d[pl->kd[i]];
      int64_t step = i == 0 ? b : 1;
      xo += step * d->xs, o0 += step * d->os0, o1 += step * d->os1;
      if ((idx[i] += step) < d->size) break;
      xo -= d->size * d->xs, o0 -= d->size * d->os0, o1 -= d->size * d->os1;
      idx[i] = 0;
    }
  }
}

/* Runs work items [begin, end) of nunits * nchunks; partial states go to `partials` when chunked. */
static bool run_items(const plan *pl, int64_t begin, int64_t end, char *partials) {
  scratch s;
  _Alignas(64) char local[SCRATCH_LOCAL];
  if (!scratch_alloc(pl, &s, local)) return false;
  if (pl->inner && !partials) {
    run_lines(pl, &s, begin, end);
  } else {
    for (int64_t item = begin; item < end; item++) {
      int64_t u = item / pl->nchunks, ch = item % pl->nchunks;
      int64_t xo, o0, o1, n = unit_locate(pl, u, &xo, &o0, &o1);
      int64_t lo = ch * pl->chunk, hi = lo + pl->chunk < pl->n_red ? lo + pl->chunk : pl->n_red;
      char *st = partials ? partials + item * pl->slot_bytes : s.acc;
      reduce_item(pl, &s, pl->x + xo, lo, hi, st, n);
      if (!partials) finish_at(pl, o0, o1, st, n);
    }
  }
  scratch_free(&s, local);
  return true;
}

/* Merges each unit's chunk states in order and writes its results. */
static bool merge_chunks(const plan *pl, const char *partials) {
  scratch s;
  _Alignas(64) char local[SCRATCH_LOCAL];
  if (!scratch_alloc(pl, &s, local)) return false;
  const rk_kernel *k = pl->k;
  for (int64_t u = 0; u < pl->units; u++) {
    int64_t xo, o0, o1, n = unit_locate(pl, u, &xo, &o0, &o1);
    const char *first = partials + u * pl->nchunks * pl->slot_bytes;
    k->init(s.acc, n);
    if (k->cascade) {
      cascade_reset(&s);
      for (int64_t ch = 0; ch < pl->nchunks; ch++) cascade_push(pl, &s, first + ch * pl->slot_bytes, n);
      cascade_collapse(pl, &s, s.acc, n);
    } else {
      for (int64_t ch = 0; ch < pl->nchunks; ch++) k->combine(s.acc, first + ch * pl->slot_bytes, n);
    }
    finish_at(pl, o0, o1, s.acc, n);
  }
  scratch_free(&s, local);
  return true;
}

/* Writes the results of an empty reduction (each output reduces nothing). */
static void finish_empty(const plan *pl, char *st) {
  for (int64_t u = 0; u < pl->units; u++) {
    int64_t xo, o0, o1, n = unit_locate(pl, u, &xo, &o0, &o1);
    pl->k->init(st, n);
    finish_at(pl, o0, o1, st, n);
  }
}

int tn_cpu_reduce(int kind, tn_tensor *out0, tn_tensor *out1, const tn_tensor *x, uint32_t reduced, double p) {
  const rk_kernel *k = tn_cpu_reduce_kernel(kind, x->dtype);
  if (!k) return tn_error("reduce: kernel %d is not defined for %s tensors", kind, tn_dtype_name(x->dtype));
  if (out0->numel == 0) return 0;
  plan pl;
  pl.k = k;
  pl.x = x->storage->data ? tn_base(x) : NULL;
  pl.o0 = tn_base(out0);
  pl.o1 = out1 ? tn_base(out1) : NULL;
  bool empty = x->numel == 0;
  if (empty) { /* plan over the outputs' shape; every output reduces nothing */
    tn_tensor shape = *x;
    for (int i = 0; i < x->ndim; i++)
      if ((reduced >> i) & 1) shape.sizes[i] = 1;
    make_plan(&pl, &shape, out0, out1, reduced);
  } else {
    make_plan(&pl, x, out0, out1, reduced);
  }
  pl.ctx = (rk_ctx){p, empty ? 0 : pl.n_red};
  if (empty) {
    char *st = malloc((size_t)pl.slot_bytes);
    if (!st) return tn_error("reduce: out of memory");
    finish_empty(&pl, st);
    free(st);
    return 0;
  }

  int64_t items = pl.units * pl.nchunks;
  char *partials = NULL;
  if (pl.nchunks > 1) {
    partials = malloc((size_t)(items * pl.slot_bytes));
    if (!partials) return tn_error("reduce: out of memory for %lld partial results", (long long)items);
  }
  int64_t grain = kind == TN_RK_LOGSUMEXP || kind == TN_RK_NORMP ? TN_GRAIN / 8 : TN_GRAIN;
  int threads = tn_parallel_threads(x->numel, grain);
  if (threads > items) threads = (int)items;
  bool ok = true;
  if (threads <= 1) {
    ok = run_items(&pl, 0, items, partials);
  } else {
#pragma omp parallel num_threads(threads) reduction(&& : ok)
    {
      int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      ok = run_items(&pl, items * t / nt, items * (t + 1) / nt, partials);
    }
  }
  if (ok && partials) ok = merge_chunks(&pl, partials);
  free(partials);
  return ok ? 0 : tn_error("reduce: out of memory");
}
