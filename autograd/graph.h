// graph.h - show what the tape recorded.
//
// ag_print_graph writes one line per node, in execution order:
//   #4 matmul_bt  [8, 16] <- #3 layernorm [8, 16], fc.weight [16, 16]
// followed by "   (layers.1.mixer.gate x1)" when the node was named (tape_scope, ag_name).
// ag_write_dot writes the same graph for Graphviz (`dot -Tsvg graph.dot > graph.svg`):
// boxes are variables (parameters in green), ellipses are ops.
#ifndef HYENA_GRAPH_H
#define HYENA_GRAPH_H

#include <stdio.h>

#include "tape.h"

void ag_print_graph(FILE *f, const Tape *tape);
void ag_write_dot(FILE *f, const Tape *tape);

#endif
