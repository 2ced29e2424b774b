/* Calls a --target=cuda library compiled with device-memory=1 through its
   generated header: with a GPU, on device buffers from mgpuMemAlloc; without
   one, it only reports why, and must not crash. */
#include <stdio.h>

void *mgpuMemAlloc(unsigned long size, void *stream, _Bool host_shared);

int main(void) {
  char reason[512];
  int ok = attnCudaAvailable(reason, sizeof(reason));
  printf("available: %d (%.11s)\n", ok, ok ? "yes" : reason);
  if (ok) {
    size_t bytes = 2 * 40 * 32 * 2;
    void *q = mgpuMemAlloc(bytes, 0, 1), *k = mgpuMemAlloc(bytes, 0, 1);
    void *v = mgpuMemAlloc(bytes, 0, 1), *o = mgpuMemAlloc(bytes, 0, 1);
    attnCudaSetStream(0, 1);
    attention_run(q, k, v, o);
  }
  puts("returned");
  return 0;
}
