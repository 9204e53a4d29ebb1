/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One output layer for every view (after iproute2's json_print.c): the same
 * calls produce aligned text or one JSON document, so no view exists in
 * one format only. Every value call takes a JSON key and a text label;
 * a NULL label keeps the value out of the text, a NULL key out of the JSON.
 *
 * Text layout: objects print "label value" lines indented by depth; a
 * table (an array whose elements are rows) prints one aligned row per
 * element, with the labels as column headers.
 */
#ifndef VOIPQ_OUTPUT_H
#define VOIPQ_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct vq_out;

struct vq_out *vq_out_new(FILE *f, bool json);
/* Print the JSON document (JSON mode) and free everything. */
int vq_out_finish(struct vq_out *o);
bool vq_out_is_json(const struct vq_out *o);

void vq_out_object_open(struct vq_out *o, const char *key);
void vq_out_object_close(struct vq_out *o);
/* A list of objects printed as blocks in text. */
void vq_out_array_open(struct vq_out *o, const char *key);
/* A list of objects printed as an aligned table in text. */
void vq_out_table_open(struct vq_out *o, const char *key);
void vq_out_array_close(struct vq_out *o);

void vq_out_str(struct vq_out *o, const char *key, const char *label,
		const char *v);
void vq_out_u64(struct vq_out *o, const char *key, const char *label,
		uint64_t v);
void vq_out_i64(struct vq_out *o, const char *key, const char *label,
		int64_t v);
/* @prec digits after the point in text and in JSON. */
void vq_out_dbl(struct vq_out *o, const char *key, const char *label,
		int prec, double v);
/*
 * A list of strings: a JSON array, or in text one "label a SEP b SEP c"
 * line. Elements are added with vq_out_elem_str.
 */
void vq_out_list_open(struct vq_out *o, const char *key, const char *label,
		      const char *sep);
void vq_out_elem_str(struct vq_out *o, const char *v);

/* Text only: a free-form line at the current indentation. */
void vq_out_text(struct vq_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
