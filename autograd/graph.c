// graph.c - text and Graphviz dumps of a tape.
#include "graph.h"

static void var_label(char *buf, size_t size, const Var *v) {
    char shape[64];
    tensor_shape_str(&v->value, shape, sizeof shape);
    if (v->is_param || v->node == NULL) snprintf(buf, size, "%s %s", v->name ? v->name : "input", shape);
    else snprintf(buf, size, "#%d %s %s", v->id, v->name, shape);
}

void ag_print_graph(FILE *f, const Tape *tape) {
    fprintf(f, "tape: %d nodes\n", tape->n_nodes);
    for (const Node *n = tape->first; n; n = n->next) {
        char out[128], in[128];
        var_label(out, sizeof out, n->out);
        fprintf(f, "  %-40s <-", out);
        for (int i = 0; i < n->n_in; i++) {
            var_label(in, sizeof in, n->in[i]);
            fprintf(f, "%s %s", i ? "," : "", in);
        }
        if (n->what) fprintf(f, "   (%s)", n->what);
        fprintf(f, "\n");
    }
}

// Variables are named by address: a parameter used by several nodes is one box.
void ag_write_dot(FILE *f, const Tape *tape) {
    fprintf(f, "digraph tape {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for (const Node *n = tape->first; n; n = n->next) {
        char label[128];
        for (int i = 0; i < n->n_in; i++) {
            const Var *v = n->in[i];
            if (v->node == NULL) {  // a leaf: declare it (declaring twice is harmless in DOT)
                var_label(label, sizeof label, v);
                fprintf(f, "  v%p [shape=box, label=\"%s\"%s];\n", (const void *)v, label,
                        v->is_param ? ", style=filled, fillcolor=palegreen" : "");
            }
            fprintf(f, "  v%p -> n%p;\n", (const void *)v, (const void *)n);
        }
        var_label(label, sizeof label, n->out);
        fprintf(f, "  n%p [shape=ellipse, label=\"%s%s%s\"];\n", (const void *)n, n->op, n->what ? "\\n" : "",
                n->what ? n->what : "");
        fprintf(f, "  v%p [shape=box, label=\"%s\"];\n", (const void *)n->out, label);
        fprintf(f, "  n%p -> v%p;\n", (const void *)n, (const void *)n->out);
    }
    fprintf(f, "}\n");
}
