// SPDX-License-Identifier: GPL-2.0
#include <json-c/json.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define OUT_MAX_DEPTH 16
#define TABLE_MAX_COLS 16
#define LABEL_WIDTH 12

enum frame_kind {
	F_OBJECT,
	F_ARRAY,
	F_TABLE,
	F_LIST,
};

struct table {
	unsigned int ncols;
	const char *hdr[TABLE_MAX_COLS];
	bool right[TABLE_MAX_COLS]; /* numbers align right */
	unsigned int nrows, cap;
	char **cells; /* nrows * TABLE_MAX_COLS */
};

struct frame {
	enum frame_kind kind;
	json_object *j;
	const char *key;
	struct table *tab;   /* F_TABLE */
	bool row;            /* F_OBJECT directly in a table */
	char *line;          /* F_LIST text */
	const char *label, *sep;
	unsigned int n;
};

struct vq_out {
	FILE *f;
	bool json;
	int depth; /* index of the top frame, -1 when empty */
	struct frame st[OUT_MAX_DEPTH];
	json_object *root;
};

struct vq_out *vq_out_new(FILE *f, bool json)
{
	struct vq_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->f = f;
	o->json = json;
	o->depth = -1;
	return o;
}

bool vq_out_is_json(const struct vq_out *o)
{
	return o->json;
}

/* Text indentation: one step per enclosing list, the outermost excepted. */
static int indent(const struct vq_out *o)
{
	int n = 0;

	for (int i = 0; i < o->depth; i++)
		n += o->st[i].kind == F_ARRAY || o->st[i].kind == F_TABLE;
	if (o->depth >= 0 && (o->st[o->depth].kind == F_ARRAY ||
			      o->st[o->depth].kind == F_TABLE))
		n++;
	return n > 1 ? (n - 1) * 2 : 0;
}

static struct frame *top(struct vq_out *o)
{
	return o->depth >= 0 ? &o->st[o->depth] : NULL;
}

/* Attach a JSON value to the enclosing object or array. */
static void json_attach(struct vq_out *o, const char *key, json_object *v)
{
	struct frame *t = top(o);

	if (!t) {
		json_object_put(o->root);
		o->root = v;
	} else if (t->kind == F_OBJECT) {
		json_object_object_add(t->j, key ? key : "", v);
	} else {
		json_object_array_add(t->j, v);
	}
}

static struct frame *push(struct vq_out *o, enum frame_kind kind,
			  const char *key)
{
	struct frame *parent = top(o), *f;

	if (o->depth + 1 >= OUT_MAX_DEPTH)
		abort(); /* a programming error, not an input one */
	f = &o->st[++o->depth];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->key = key;
	f->row = kind == F_OBJECT && parent && parent->kind == F_TABLE;
	return f;
}

static void pop(struct vq_out *o)
{
	struct frame *f = top(o);
	json_object *j = f->j;
	const char *key = f->key;

	o->depth--;
	if (o->json)
		json_attach(o, key, j);
}

void vq_out_object_open(struct vq_out *o, const char *key)
{
	struct frame *f = push(o, F_OBJECT, key);

	if (o->json) {
		f->j = json_object_new_object();
		return;
	}
	if (f->row) {
		struct table *t = o->st[o->depth - 1].tab;

		if (t->nrows == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 16;
			t->cells = realloc(t->cells, sizeof(char *) * t->cap *
							     TABLE_MAX_COLS);
		}
		memset(&t->cells[t->nrows * TABLE_MAX_COLS], 0,
		       sizeof(char *) * TABLE_MAX_COLS);
		t->nrows++;
	}
}

void vq_out_object_close(struct vq_out *o)
{
	pop(o);
}

void vq_out_array_open(struct vq_out *o, const char *key)
{
	struct frame *f = push(o, F_ARRAY, key);

	if (o->json)
		f->j = json_object_new_array();
}

void vq_out_table_open(struct vq_out *o, const char *key)
{
	struct frame *f = push(o, F_TABLE, key);

	if (o->json)
		f->j = json_object_new_array();
	else
		f->tab = calloc(1, sizeof(*f->tab));
}

static void table_print(struct vq_out *o, struct table *t)
{
	unsigned int w[TABLE_MAX_COLS] = { 0 };

	if (!t->nrows)
		return;
	for (unsigned int c = 0; c < t->ncols; c++) {
		w[c] = (unsigned int)strlen(t->hdr[c]);
		for (unsigned int r = 0; r < t->nrows; r++) {
			const char *s = t->cells[r * TABLE_MAX_COLS + c];

			if (s && strlen(s) > w[c])
				w[c] = (unsigned int)strlen(s);
		}
	}
	for (int r = -1; r < (int)t->nrows; r++) {
		fprintf(o->f, "%*s", indent(o), "");
		for (unsigned int c = 0; c < t->ncols; c++) {
			const char *s = r < 0 ? t->hdr[c]
					      : t->cells[r * TABLE_MAX_COLS + c];
			bool last = c + 1 == t->ncols;

			if (!s)
				s = "-";
			if (t->right[c])
				fprintf(o->f, "%*s%s", w[c], s, last ? "" : "  ");
			else if (last)
				fprintf(o->f, "%s", s);
			else
				fprintf(o->f, "%-*s  ", w[c], s);
		}
		fputc('\n', o->f);
	}
}

static void table_free(struct table *t)
{
	for (unsigned int i = 0; i < t->nrows * TABLE_MAX_COLS; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void vq_out_array_close(struct vq_out *o)
{
	struct frame *f = top(o);

	if (!o->json && f->kind == F_TABLE) {
		table_print(o, f->tab);
		table_free(f->tab);
	} else if (!o->json && f->kind == F_LIST) {
		fprintf(o->f, "%*s%-*s %s\n", indent(o), "",
			LABEL_WIDTH, f->label, f->line ? f->line : "-");
		free(f->line);
	}
	pop(o);
}

void vq_out_list_open(struct vq_out *o, const char *key, const char *label,
		      const char *sep)
{
	struct frame *f = push(o, F_LIST, key);

	if (o->json)
		f->j = json_object_new_array();
	f->label = label;
	f->sep = sep;
}

void vq_out_elem_str(struct vq_out *o, const char *v)
{
	struct frame *f = top(o);
	char *line;

	if (o->json) {
		json_object_array_add(f->j, json_object_new_string(v));
		return;
	}
	if (asprintf(&line, "%s%s%s", f->line ? f->line : "",
		     f->line ? f->sep : "", v) < 0)
		return;
	free(f->line);
	f->line = line;
}

/* Text: a table cell, or a "label value" line in a block. */
static void text_value(struct vq_out *o, const char *label, const char *v,
		       bool numeric)
{
	struct frame *f = top(o);

	if (!label)
		return;
	if (f && f->row) {
		struct table *t = o->st[o->depth - 1].tab;
		unsigned int c;

		for (c = 0; c < t->ncols; c++)
			if (!strcmp(t->hdr[c], label))
				break;
		if (c == t->ncols) {
			if (c == TABLE_MAX_COLS)
				return;
			t->hdr[t->ncols++] = label;
			t->right[c] = numeric;
		}
		free(t->cells[(t->nrows - 1) * TABLE_MAX_COLS + c]);
		t->cells[(t->nrows - 1) * TABLE_MAX_COLS + c] = strdup(v);
		return;
	}
	fprintf(o->f, "%*s%-*s %s\n", indent(o), "", LABEL_WIDTH,
		label, v);
}

void vq_out_str(struct vq_out *o, const char *key, const char *label,
		const char *v)
{
	if (o->json) {
		if (key)
			json_attach(o, key, v ? json_object_new_string(v) : NULL);
		return;
	}
	text_value(o, label, v ? v : "-", false);
}

void vq_out_u64(struct vq_out *o, const char *key, const char *label,
		uint64_t v)
{
	char buf[24];

	if (o->json) {
		if (key)
			json_attach(o, key, json_object_new_uint64(v));
		return;
	}
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	text_value(o, label, buf, true);
}

void vq_out_i64(struct vq_out *o, const char *key, const char *label,
		int64_t v)
{
	char buf[24];

	if (o->json) {
		if (key)
			json_attach(o, key, json_object_new_int64(v));
		return;
	}
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	text_value(o, label, buf, true);
}

void vq_out_dbl(struct vq_out *o, const char *key, const char *label,
		int prec, double v)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%.*f", prec, v);
	if (o->json) {
		/* Keep the printed precision: 4.39, not 4.3899999999. */
		if (key)
			json_attach(o, key,
				    json_object_new_double_s(strtod(buf, NULL), buf));
		return;
	}
	text_value(o, label, buf, true);
}

void vq_out_text(struct vq_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->json)
		return;
	fprintf(o->f, "%*s", indent(o), "");
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
	fputc('\n', o->f);
}

int vq_out_finish(struct vq_out *o)
{
	int err = 0;

	while (o->depth >= 0) {
		if (o->st[o->depth].kind == F_OBJECT)
			vq_out_object_close(o);
		else
			vq_out_array_close(o);
	}
	if (o->json && o->root) {
		fputs(json_object_to_json_string_ext(o->root,
						     JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE),
		      o->f);
		fputc('\n', o->f);
	}
	json_object_put(o->root);
	if (fflush(o->f))
		err = -1;
	free(o);
	return err;
}
