# tutorials/02-autograd.md's gdb session, as a command file. CI replays it
#   gdb -q -batch -x tutorials/examples/02_autograd.gdb build/debug/tutorials/02_autograd
# and checks that every line the chapter prints is what gdb printed.
set trace-commands on
set pagination off
set print thread-events off
break add_backward
run
print n->op
print *n->out->grad@6
print n->in[1]->name
print *n->in[1]->grad@3
break column_sum_columns
continue
bt 3
finish
finish
print *out@3
kill
