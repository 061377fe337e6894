/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native engine's validator: the program must be an ELF executable for
 * this machine.  Also finds its interpreter (PT_INTERP) so that a dynamic
 * program gets the host's shared libraries.
 */
#include "engine/native/native.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#else
#error "unsupported host architecture"
#endif

int zvm__elf_inspect(int fd, zvm_elf_info_t *info, zvm_error_t *err)
{
    Elf64_Ehdr eh;
    memset(info, 0, sizeof *info);
    ssize_t n = pread(fd, &eh, sizeof eh, 0);
    if (n != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return zvm_error_set(err, ENOEXEC, "not an ELF executable");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != HOST_MACHINE)
        return zvm_error_set(err, ENOEXEC, "ELF program for another machine");
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return zvm_error_set(err, ENOEXEC, "ELF file is not an executable");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 4096)
        return zvm_error_set(err, ENOEXEC, "ELF program headers are malformed");
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        off_t at = (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph);
        if (pread(fd, &ph, sizeof ph, at) != (ssize_t)sizeof ph)
            return zvm_error_set(err, ENOEXEC, "ELF program headers are truncated");
        if (ph.p_type != PT_INTERP)
            continue;
        if (ph.p_filesz < 2 || ph.p_filesz >= sizeof info->interp)
            return zvm_error_set(err, ENOEXEC, "ELF interpreter path is malformed");
        if (pread(fd, info->interp, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
            return zvm_error_set(err, ENOEXEC, "ELF interpreter path is truncated");
        info->interp[ph.p_filesz] = '\0';
        if (info->interp[0] != '/' || strlen(info->interp) != ph.p_filesz - 1)
            return zvm_error_set(err, ENOEXEC, "ELF interpreter path is malformed");
        info->dynamic = true;
    }
    return 0;
}
