// mlp.c - two linears and a GELU.
#include "mlp.h"

#include <string.h>

Mlp mlp_new(ParamList *params, const char *prefix, int D, float residual_std, Rng *rng) {
    Mlp m;
    m.fc1 = linear_new(params, prefix, "mlp.fc1", D, 4 * D, true, PARAM_DEFAULT, PARAM_DEFAULT, rng);
    m.fc2 = linear_new(params, prefix, "mlp.fc2", 4 * D, D, true, PARAM_DEFAULT, PARAM_DEFAULT, rng);
    init_normal(m.fc1.weight, 0.02f, rng);
    init_normal(m.fc2.weight, residual_std, rng);
    memset(m.fc1.bias->value.data, 0, m.fc1.bias->value.size * sizeof(float));
    memset(m.fc2.bias->value.data, 0, m.fc2.bias->value.size * sizeof(float));
    return m;
}

Var *mlp_forward(Tape *tape, const Mlp *mlp, Var *x) {
    return linear_forward(tape, &mlp->fc2, ag_gelu(tape, linear_forward(tape, &mlp->fc1, x)));
}
