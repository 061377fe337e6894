/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An empty main() linked against a chosen set of libraries: the cost of
 * starting a process that loads them (bench/run.sh builds it three times:
 * libc only, libseccomp only, and zerovm's full set).
 */
int main(void)
{
    return 0;
}
