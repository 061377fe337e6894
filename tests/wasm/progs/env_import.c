/* SPDX-License-Identifier: Apache-2.0 */
/* Imports env.foo, which zerovm does not provide: the module must be
 * refused before anything runs ("RAN" must never appear). */
#include "wt.h"

__attribute__((import_module("env"), import_name("foo"))) extern int foo(int);

int main(void)
{
    say("RAN\n");
    return foo(3);
}
