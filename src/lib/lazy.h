/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libarchive and libcrypto, loaded on first use.
 *
 * Mapping the two libraries (and libarchive's many compression libraries)
 * costs a few milliseconds at every start, which is most of what a sandbox
 * start may cost.  A run that unpacks no image and computes no etag needs
 * neither, so libzvm reaches them through dlopen() when it first does.
 *
 * A file that calls them includes this header after <archive.h>,
 * <archive_entry.h> and <openssl/evp.h>, calls zvm__archive_load() or
 * zvm__crypto_load() before the first call, and otherwise writes the calls
 * as usual: the macros below send them through the loaded tables.
 */
#ifndef ZVM_LIB_LAZY_H
#define ZVM_LIB_LAZY_H

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "zvm/error.h"

#define ZVM_ARCHIVE_SYMBOLS(X) \
    X(archive_entry_filetype) \
    X(archive_entry_hardlink) \
    X(archive_entry_mtime) \
    X(archive_entry_mtime_is_set) \
    X(archive_entry_mtime_nsec) \
    X(archive_entry_pathname) \
    X(archive_entry_perm) \
    X(archive_entry_size) \
    X(archive_entry_size_is_set) \
    X(archive_entry_symlink) \
    X(archive_error_string) \
    X(archive_read_data) \
    X(archive_read_free) \
    X(archive_read_new) \
    X(archive_read_next_header) \
    X(archive_read_open) \
    X(archive_read_support_filter_bzip2) \
    X(archive_read_support_filter_compress) \
    X(archive_read_support_filter_gzip) \
    X(archive_read_support_filter_lz4) \
    X(archive_read_support_filter_lzip) \
    X(archive_read_support_filter_lzma) \
    X(archive_read_support_filter_xz) \
    X(archive_read_support_filter_zstd) \
    X(archive_read_support_format_7zip) \
    X(archive_read_support_format_all) \
    X(archive_read_support_format_ar) \
    X(archive_read_support_format_cab) \
    X(archive_read_support_format_cpio) \
    X(archive_read_support_format_iso9660) \
    X(archive_read_support_format_lha) \
    X(archive_read_support_format_rar) \
    X(archive_read_support_format_rar5) \
    X(archive_read_support_format_tar) \
    X(archive_read_support_format_warc) \
    X(archive_read_support_format_xar) \
    X(archive_read_support_format_zip) \
    X(archive_set_error)

#define ZVM_CRYPTO_SYMBOLS(X) \
    X(EVP_DigestFinal_ex) \
    X(EVP_DigestInit_ex) \
    X(EVP_DigestUpdate) \
    X(EVP_MD_CTX_copy_ex) \
    X(EVP_MD_CTX_free) \
    X(EVP_MD_CTX_new) \
    X(EVP_md5) \
    X(EVP_sha256)

#define ZVM__LAZY_MEMBER(name) __typeof__(name) *p_##name;
struct zvm__archive_api {
    ZVM_ARCHIVE_SYMBOLS(ZVM__LAZY_MEMBER)
};
struct zvm__crypto_api {
    ZVM_CRYPTO_SYMBOLS(ZVM__LAZY_MEMBER)
};
#undef ZVM__LAZY_MEMBER

extern struct zvm__archive_api zvm__archive;
extern struct zvm__crypto_api zvm__crypto;

/* Load the library (once per process); 0, or -1 with a message naming it. */
int zvm__archive_load(zvm_error_t *err);
int zvm__crypto_load(zvm_error_t *err);

#ifndef ZVM_LAZY_IMPLEMENTATION
#define archive_entry_filetype (*zvm__archive.p_archive_entry_filetype)
#define archive_entry_hardlink (*zvm__archive.p_archive_entry_hardlink)
#define archive_entry_mtime (*zvm__archive.p_archive_entry_mtime)
#define archive_entry_mtime_is_set (*zvm__archive.p_archive_entry_mtime_is_set)
#define archive_entry_mtime_nsec (*zvm__archive.p_archive_entry_mtime_nsec)
#define archive_entry_pathname (*zvm__archive.p_archive_entry_pathname)
#define archive_entry_perm (*zvm__archive.p_archive_entry_perm)
#define archive_entry_size (*zvm__archive.p_archive_entry_size)
#define archive_entry_size_is_set (*zvm__archive.p_archive_entry_size_is_set)
#define archive_entry_symlink (*zvm__archive.p_archive_entry_symlink)
#define archive_error_string (*zvm__archive.p_archive_error_string)
#define archive_read_data (*zvm__archive.p_archive_read_data)
#define archive_read_free (*zvm__archive.p_archive_read_free)
#define archive_read_new (*zvm__archive.p_archive_read_new)
#define archive_read_next_header (*zvm__archive.p_archive_read_next_header)
#define archive_read_open (*zvm__archive.p_archive_read_open)
#define archive_read_support_filter_bzip2 (*zvm__archive.p_archive_read_support_filter_bzip2)
#define archive_read_support_filter_compress (*zvm__archive.p_archive_read_support_filter_compress)
#define archive_read_support_filter_gzip (*zvm__archive.p_archive_read_support_filter_gzip)
#define archive_read_support_filter_lz4 (*zvm__archive.p_archive_read_support_filter_lz4)
#define archive_read_support_filter_lzip (*zvm__archive.p_archive_read_support_filter_lzip)
#define archive_read_support_filter_lzma (*zvm__archive.p_archive_read_support_filter_lzma)
#define archive_read_support_filter_xz (*zvm__archive.p_archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (*zvm__archive.p_archive_read_support_filter_zstd)
#define archive_read_support_format_7zip (*zvm__archive.p_archive_read_support_format_7zip)
#define archive_read_support_format_all (*zvm__archive.p_archive_read_support_format_all)
#define archive_read_support_format_ar (*zvm__archive.p_archive_read_support_format_ar)
#define archive_read_support_format_cab (*zvm__archive.p_archive_read_support_format_cab)
#define archive_read_support_format_cpio (*zvm__archive.p_archive_read_support_format_cpio)
#define archive_read_support_format_iso9660 (*zvm__archive.p_archive_read_support_format_iso9660)
#define archive_read_support_format_lha (*zvm__archive.p_archive_read_support_format_lha)
#define archive_read_support_format_rar (*zvm__archive.p_archive_read_support_format_rar)
#define archive_read_support_format_rar5 (*zvm__archive.p_archive_read_support_format_rar5)
#define archive_read_support_format_tar (*zvm__archive.p_archive_read_support_format_tar)
#define archive_read_support_format_warc (*zvm__archive.p_archive_read_support_format_warc)
#define archive_read_support_format_xar (*zvm__archive.p_archive_read_support_format_xar)
#define archive_read_support_format_zip (*zvm__archive.p_archive_read_support_format_zip)
#define archive_set_error (*zvm__archive.p_archive_set_error)
#define EVP_DigestFinal_ex (*zvm__crypto.p_EVP_DigestFinal_ex)
#define EVP_DigestInit_ex (*zvm__crypto.p_EVP_DigestInit_ex)
#define EVP_DigestUpdate (*zvm__crypto.p_EVP_DigestUpdate)
#define EVP_MD_CTX_copy_ex (*zvm__crypto.p_EVP_MD_CTX_copy_ex)
#define EVP_MD_CTX_free (*zvm__crypto.p_EVP_MD_CTX_free)
#define EVP_MD_CTX_new (*zvm__crypto.p_EVP_MD_CTX_new)
#define EVP_md5 (*zvm__crypto.p_EVP_md5)
#define EVP_sha256 (*zvm__crypto.p_EVP_sha256)
#endif

#endif
