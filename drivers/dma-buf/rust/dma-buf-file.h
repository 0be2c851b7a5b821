/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Rust core defines the operations of a dma-buf file (file.rs); dma-buf.c makes the
 * files and provides their release, which updates the buffer list it owns.
 */
#ifndef _DMA_BUF_RUST_FILE_H
#define _DMA_BUF_RUST_FILE_H

#include <linux/fs.h>

extern const struct file_operations dma_buf_fops;
int dma_buf_file_release(struct inode *inode, struct file *file);

#endif /* _DMA_BUF_RUST_FILE_H */
