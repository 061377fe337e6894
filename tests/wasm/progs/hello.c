/* SPDX-License-Identifier: Apache-2.0 */
/* The smallest program: one line on stdout through stdio, rc 0. */
#include <stdio.h>

int main(void)
{
    printf("hello from wasm\n");
    return 0;
}
