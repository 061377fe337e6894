/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/wasm/matmul.c: C = A x B for N x N doubles (i-k-j loop order),
 * matrices filled from an integer LCG so every product is exact enough to
 * compare native and wasm results bit for bit (IEEE double, no FMA, same
 * order of operations).  Prints a checksum of C.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1024

int main(void)
{
    double *a = malloc(sizeof(double) * N * N);
    double *b = malloc(sizeof(double) * N * N);
    double *c = calloc((size_t)N * N, sizeof(double));
    if (!a || !b || !c) {
        fputs("matmul: out of memory\n", stderr);
        return 1;
    }
    uint32_t s = 12345;
    for (int i = 0; i < N * N; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = (double)((s >> 16) & 0x3ff) / 1024.0 - 0.5;
        s = s * 1103515245u + 12345u;
        b[i] = (double)((s >> 16) & 0x3ff) / 1024.0 - 0.5;
    }
    for (int i = 0; i < N; i++) {
        double *ci = c + (size_t)i * N;
        for (int k = 0; k < N; k++) {
            double aik = a[(size_t)i * N + k];
            const double *bk = b + (size_t)k * N;
            for (int j = 0; j < N; j++)
                ci[j] += aik * bk[j];
        }
    }
    double sum = 0, wsum = 0;
    for (int i = 0; i < N * N; i++) {
        sum += c[i];
        wsum += c[i] * (double)(i % 7 + 1);
    }
    printf("matmul %dx%d: sum=%.10e wsum=%.10e c[0]=%.17g c[last]=%.17g\n", N, N, sum, wsum,
           c[0], c[(size_t)N * N - 1]);
    free(a); free(b); free(c);
    return 0;
}
