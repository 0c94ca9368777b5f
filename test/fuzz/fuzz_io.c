/* fuzz_io.c: a libFuzzer target for the serialization readers of lib/io (Torch7 binary and ascii,
 * safetensors, PyTorch zip + pickle). Build and run it with test/fuzz/run.sh.
 *
 * Each input goes through format detection and through every reader forced; whatever a reader accepts is
 * then used the way the Lua side uses it: every string and storage byte is read, every storage is copied
 * into a tensor storage, and every tensor node becomes a tensor over its storage. A crash, a sanitizer
 * report, or a tensor that the library refuses after the reader accepted it, is a bug. */
#include "backend.h"
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>

static volatile unsigned sink;

/* The readers never reach CUDA; storage.c asks for it only when a CUDA tensor is requested. These stand in for
 * lib/cuda_loader.c, which would bring the random-number and device code with it. */
int tn_cuda_available(void) { return 0; }
const char *tn_cuda_status(void) { return "not linked into the fuzz harness"; }

static void touch(const char *p, int64_t n) {
  unsigned h = 0;
  for (int64_t i = 0; i < n; i++) h = h * 31 + (unsigned char)p[i];
  sink += h;
}

static void use(tn_io_doc *doc) {
  for (int32_t i = 0; i < doc->nnodes; i++) {
    const tn_io_node *n = &doc->nodes[i];
    switch (n->kind) {
    case TN_IO_STRING:
    case TN_IO_GLOBAL: touch(n->string.ptr, n->string.len); break;
    case TN_IO_FUNCTION: touch(n->func.ptr, n->func.len); break;
    case TN_IO_LIST:
    case TN_IO_MAP:
      for (int32_t l = n->list.first; l >= 0; l = doc->links[l].next)
        if (doc->links[l].value < 0 || doc->links[l].value >= doc->nnodes) abort();
      break;
    case TN_IO_STORAGE: touch(n->storage.data, n->storage.numel * tn_dtype_size(n->storage.dtype)); break;
    case TN_IO_TENSOR: {
      tn_storage *s = NULL;
      const int64_t *dims = doc->dims + n->tensor.dims;
      tn_tensor *t;
      if (n->tensor.storage >= 0) {
        s = tn_io_storage(doc, n->tensor.storage, i & 1);
        if (!s) abort();
        t = tn_from_storage(s, n->tensor.offset, n->tensor.ndim, dims, dims + n->tensor.ndim, n->tensor.dtype);
      } else {
        t = tn_empty(n->tensor.ndim, dims, n->tensor.dtype, TN_CPU, 0);
      }
      if (!t) {
        fprintf(stderr, "accepted tensor refused: %s\n", tn_last_error());
        abort();
      }
      tn_tensor_free(t);
      tn_storage_release(s);
      break;
    }
    default: break;
    }
  }
}

/* run.sh links the readers with the storage and tensor code only (not the kernels): a CPU backend with no
 * kernels is enough for making storages and tensor headers. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  static tn_backend cpu = {.name = "cpu (fuzz_io: storages only)"};
  (void)argc;
  (void)argv;
  if (!tn_backends[TN_CPU]) tn_register_backend(TN_CPU, &cpu);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int formats[] = {TN_IO_AUTO, TN_IO_T7, TN_IO_T7_ASCII, TN_IO_SAFETENSORS, TN_IO_PT};
  for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
    for (int flags = 0; flags <= (formats[f] == TN_IO_T7 ? TN_IO_LONG4 : 0); flags++) {
      tn_io_doc *doc = tn_io_parse(data, (int64_t)size, formats[f], flags, "fuzz");
      if (!doc) continue;
      use(doc);
      tn_io_free(doc);
    }
  }
  return 0;
}
