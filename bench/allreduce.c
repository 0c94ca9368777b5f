/* The baseline of bench/allreduce.lua: Open MPI's own MPI_Allreduce, in place, on float32 buffers.
 *
 *   mpicc -O2 -o allreduce bench/allreduce.c
 *   mpirun -np 2 ./allreduce TRIALS BYTES ITERATIONS [BYTES ITERATIONS ...]
 *
 * For each size (in the order given): one all-reduce of ones checks the sum (the world size), two more warm
 * up, then TRIALS timed trials of ITERATIONS back-to-back MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT,
 * MPI_SUM) on a buffer of zeros (sums of zeros stay zero: no infinities, no denormals), each trial between
 * barriers and timed as the slowest rank's MPI_Wtime interval. Rank 0 prints one line per size:
 * "BYTES best_seconds_per_call". The tensor worker (bench/allreduce.lua --worker) does exactly the same
 * through dist.all_reduce. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 4 || (argc - 2) % 2 != 0) {
    if (rank == 0) fprintf(stderr, "usage: allreduce TRIALS BYTES ITERATIONS [BYTES ITERATIONS ...]\n");
    MPI_Finalize();
    return 2;
  }
  int trials = atoi(argv[1]);
  for (int a = 2; a + 1 < argc; a += 2) {
    long bytes = atol(argv[a]);
    int iterations = atoi(argv[a + 1]);
    int n = (int)(bytes / (long)sizeof(float));
    float *buf = malloc((size_t)n * sizeof(float));
    if (!buf) {
      fprintf(stderr, "allreduce: out of memory for %ld bytes\n", bytes);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (int i = 0; i < n; i++) buf[i] = 1.0f;
    MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (buf[0] != (float)size || buf[n - 1] != (float)size) {
      fprintf(stderr, "allreduce: wrong sum %g, expected %d\n", buf[0], size);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(buf, 0, (size_t)n * sizeof(float));
    for (int w = 0; w < 2; w++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double best = 1e300;
    for (int t = 0; t < trials; t++) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      for (int i = 0; i < iterations; i++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      double dt = MPI_Wtime() - t0;
      MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      if (dt / iterations < best) best = dt / iterations;
    }
    if (rank == 0) printf("%ld %.9g\n", bytes, best);
    fflush(stdout);
    free(buf);
  }
  MPI_Finalize();
  return 0;
}
