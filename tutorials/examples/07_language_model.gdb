# tutorials/02-autograd.md's second gdb session, as a command file: into the backward of one gate
# of a Hyena operator, found by its name. CI replays it
#   gdb -q -batch -x tutorials/examples/07_language_model.gdb build/debug/tutorials/07_language_model
# and checks that every line the chapter prints is what gdb printed.
set trace-commands on
set pagination off
set print thread-events off
break mul_backward if n->what != 0 && $_streq(n->what, "layers.1.mixer.gate x1")
run
print n->what
print n->in[0]->node->what
print n->in[1]->node->what
printf "%.3g %.3g %.3g\n", n->out->grad[0], n->out->grad[1], n->out->grad[2]
finish
print node->what
printf "%.3g %.3g %.3g\n", node->in[1]->grad[0], node->in[1]->grad[1], node->in[1]->grad[2]
kill
