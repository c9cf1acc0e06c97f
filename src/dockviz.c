/*
 * dockviz.c - `userdocker dockviz`: the daemon's images as a tree (each
 * image under its parent), answered by root from one Engine API request.
 * The reference ran a container with the docker socket mounted for this;
 * here no container and no docker CLI is involved.
 *
 *   └─ 1a2b3c4d5e6f  1.2 MB  local/busybox:latest
 *      └─ 7a8b9c0d1e2f  3.4 MB  local/app:1, local/app:latest
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerapi.h"
#include "userdocker.h"

struct node {
	const char *id, *parent;   /* "sha256:<hex>", parent "" for roots */
	json_t *tags;
	json_int_t size;
	int printed;
};

static int cmp_node(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	return strcmp(x->id, y->id);
}

static void human(json_int_t n, char *buf, size_t len)
{
	const char *unit[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static const char *short_id(const char *id)
{
	static char buf[13];

	if (strncmp(id, "sha256:", 7) == 0)
		id += 7;
	snprintf(buf, sizeof buf, "%.12s", id);
	return buf;
}

/* Each image's line, then its children; depth-first, in id order. */
static void print_tree(struct node *n, size_t count, const char *parent, int depth)
{
	size_t i, k;

	for (i = 0; i < count; i++) {
		char size[32];
		json_t *t;
		int first = 1;

		if (n[i].printed || strcmp(n[i].parent, parent) != 0)
			continue;
		n[i].printed = 1;
		human(n[i].size, size, sizeof size);
		for (k = 0; k < (size_t)depth; k++)
			fputs("   ", stdout);
		printf("\u2514\u2500 %s  %s  ", short_id(n[i].id), size);
		json_array_foreach(n[i].tags, k, t) {
			const char *tag = json_string_value(t);
			char *shown;

			if (!tag || !strcmp(tag, "<none>:<none>"))
				continue;
			shown = text_printable(tag);
			printf("%s%s", first ? "" : ", ", shown ? shown : "?");
			free(shown);
			first = 0;
		}
		if (first)
			fputs("<untagged>", stdout);
		putchar('\n');
		if (depth < 64)
			print_tree(n, count, n[i].id, depth + 1);
	}
}

int dockviz(const char *sock, struct ud_err *err)
{
	struct dapi api = { 0 };
	json_t *list = NULL, *img;
	struct node *nodes;
	long status = 0;
	size_t i, n = 0;

	if (dapi_open(&api, sock, err) || dapi_get(&api, "/images/json?all=1", &status, &list, err)) {
		dapi_close(&api);
		return -1;
	}
	dapi_close(&api);
	if (status != 200 || !json_is_array(list)) {
		json_decref(list);
		return ud_fail(err, UD_EX_SOFTWARE, "unexpected answer from the docker daemon listing images (HTTP %ld)",
			       status);
	}
	nodes = calloc(json_array_size(list) + 1, sizeof *nodes);
	if (!nodes) {
		json_decref(list);
		return ud_fail(err, UD_EX_OSERR, "out of memory");
	}
	json_array_foreach(list, i, img) {
		const char *id = json_string_value(json_object_get(img, "Id"));
		const char *parent = json_string_value(json_object_get(img, "ParentId"));

		if (!id)
			continue;
		nodes[n].id = id;
		nodes[n].parent = parent ? parent : "";
		nodes[n].tags = json_object_get(img, "RepoTags");
		nodes[n].size = json_integer_value(json_object_get(img, "Size"));
		n++;
	}
	qsort(nodes, n, sizeof *nodes, cmp_node);
	/* A parent the list does not hold makes its children roots. */
	for (i = 0; i < n; i++) {
		struct node key = { .id = nodes[i].parent };

		if (nodes[i].parent[0] && !bsearch(&key, nodes, n, sizeof *nodes, cmp_node))
			nodes[i].parent = "";
	}
	print_tree(nodes, n, "", 0);
	for (i = 0; i < n; i++)
		if (!nodes[i].printed) /* a cycle: say so rather than loop */
			printf("\u2514\u2500 %s  (parent cycle)\n", short_id(nodes[i].id));
	free(nodes);
	json_decref(list);
	return 0;
}
