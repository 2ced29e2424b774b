/* Calls a --target=cuda library on a machine without a usable driver; the
   generated header declares attnCudaAvailable. */
#include <stdio.h>

int main(void) {
  char reason[512];
  int ok = attnCudaAvailable(reason, sizeof(reason));
  printf("available: %d (%.11s)\n", ok, ok ? "yes" : reason);
  static uint16_t q[2 * 40 * 32], k[2 * 40 * 32], v[2 * 40 * 32],
      o[2 * 40 * 32];
  if (!ok) {
    puts("returned");
    return 0;
  }
  attention_run(q, k, v, o);
  puts("returned");
  return 0;
}
