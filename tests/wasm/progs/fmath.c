/* Floating point that wasm2c turns into calls (sqrt, floor, ceil, trunc,
 * nearest): the compiled module must link them.  Prints fixed results. */
#include <math.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argv;
    volatile double x = argc + 1.25;   /* 2.25: argc is 1 */
    volatile float y = (float)x;
    printf("%.6f %.6f %.6f %.6f %.6f %.6f\n", sqrt(x), floor(x), ceil(x), trunc(-x),
           nearbyint(x), fabs(-x));
    printf("%.4f %.4f %.4f %.4f\n", sqrtf(y), floorf(y), ceilf(y), truncf(-y));
    return 0;
}
