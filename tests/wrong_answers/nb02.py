"""Wrong answers for 02_shattered_gradients."""

WRONG = {
    "nb02_input_gradient": [
        ("return f(inputs)[:, 0]  # the output, not its derivative",
         "returned the outputs f(x) themselves, not their derivatives"),
        ("xs = inputs.detach().clone().requires_grad_(True)\n"
         "(g,) = torch.autograd.grad(f(xs).mean(), xs)  # mean divides every derivative by n\n"
         "return g[:, 0]",
         "you differentiated the mean of the outputs"),
        ("return ((f(inputs + 1e-2) - f(inputs)) / 1e-2)[:, 0]  # a coarse one-sided finite difference",
         "close to the derivative, but not exact"),
        ("inputs.requires_grad_(True)  # changes the caller's tensor\n"
         "(g,) = torch.autograd.grad(f(inputs).sum(), inputs)\n"
         "return g[:, 0]",
         "changed the tensor it was given"),
        ("jac = torch.autograd.functional.jacobian(f, inputs)[:, 0, :, 0]  # cell 6: the whole Jacobian\n"
         "return jac.diagonal()",
         "you called torch.autograd.functional.jacobian"),
        ("return gradient_over_grid(f, inputs)  # the helper the notebook imports",
         "you called helpers.diagnostics.gradient_over_grid"),
        ("grads = []\n"
         "for i in range(len(inputs)):  # one forward and one backward pass per point\n"
         "    xi = inputs[i:i + 1].detach().clone().requires_grad_(True)\n"
         "    grads.append(torch.autograd.grad(f(xi).sum(), xi)[0][0, 0])\n"
         "return torch.stack(grads)",
         "one forward pass on the whole batch and one backward pass"),
        ("h = 1e-5  # central finite differences: no autograd\n"
         "x = inputs.detach()\n"
         "with torch.no_grad():\n"
         "    return ((f(x + h) - f(x - h)) / (2 * h))[:, 0]",
         "never called f on inputs that require grad"),
    ],
    "nb02_autocorrelation": [
        ("g = np.asarray(g, dtype=np.float64)  # forgets to subtract the mean\n"
         "return np.array([g[: len(g) - k] @ g[k:] for k in range(max_lag + 1)]) / (g @ g)",
         "Subtract the mean of g"),
        ("d = np.asarray(g, dtype=np.float64) - np.mean(g)\n"
         "n = len(d)  # normalises each lag by its own number of pairs\n"
         "return np.array([(d[: n - k] @ d[k:]) / (n - k) for k in range(max_lag + 1)]) / ((d @ d) / n)",
         "not by the number of pairs at that lag"),
        ("d = np.asarray(g, dtype=np.float64) - np.mean(g)\n"
         "return np.array([d[:-k] @ d[k:] for k in range(max_lag + 1)]) / (d @ d)  # d[:-0] is empty",
         "g[:-k] is g[:-0] = g[:0], which is empty"),
        ("d = np.asarray(g, dtype=np.float64) - np.mean(g)\n"
         "return np.array([np.sum(d[:-k] * d[k:]) for k in range(max_lag + 1)]) / np.sum(d * d)  # d[:-0] again",
         "g[:-k] is g[:-0] = g[:0], which is empty"),
        ("d = np.asarray(g, dtype=np.float64) - np.mean(g)\n"
         "return np.array([d[: len(d) - k] @ d[k:] for k in range(max_lag + 1)])  # not normalised",
         "r(0) must be 1"),
        ("return autocorrelation(g, max_lag)  # the library function the notebook imports",
         "you called helpers.diagnostics.autocorrelation"),
        ("import helpers.diagnostics as D\n"
         "return D.autocorrelation(g, max_lag)  # the library function, through its module",
         "you called helpers.diagnostics.autocorrelation"),
        ("g = np.asarray(g, dtype=np.float64)  # Pearson per lag, as np.corrcoef of the shifted copies\n"
         "return np.array([1.0] + [np.corrcoef(g[:-k], g[k:])[0, 1] for k in range(1, max_lag + 1)])",
         "as np.corrcoef of the two shifted copies does"),
        ("d = g - g.mean()  # cell 12: numpy computes every lag at once\n"
         "return np.correlate(d, d, mode=\"full\")[len(d) - 1:][: max_lag + 1] / (d @ d)",
         "you called numpy.correlate"),
    ],
    "nb02_mean_lag1": [
        ("values = []\n"
         "for seed in seeds:\n"
         "    model = ShatterMLP(depth, residual=residual, batch_norm=batch_norm, seed=seed).eval()  # never calibrated\n"
         "    values.append(lag1_correlation(gradient_over_grid(model, x)))\n"
         "return float(np.mean(values))",
         "batch norm's initial statistics"),
        ("values = []\n"
         "for seed in seeds:\n"
         "    model = ShatterMLP(depth, residual=residual, batch_norm=batch_norm, seed=seed)  # no calibration\n"
         "    values.append(lag1_correlation(gradient_over_grid(model, x)))\n"
         "return float(np.mean(values))",
         "model has batch norm in training mode"),
        ("values = []\n"
         "for seed in seeds:\n"
         "    model = calibrate_batch_norm(ShatterMLP(depth, residual=residual, batch_norm=batch_norm, seed=seed), x)\n"
         "    values.append(autocorrelation(gradient_over_grid(model, x), 1)[0])  # lag 0\n"
         "return float(np.mean(values))",
         "that is r(0), which is always 1"),
        ("model = calibrate_batch_norm(ShatterMLP(depth, residual=residual, batch_norm=batch_norm, seed=seeds[-1]), x)\n"
         "return lag1_correlation(gradient_over_grid(model, x))  # one seed only",
         "That is r(1) of one seed's net"),
        ("values = []\n"
         "for seed in seeds:\n"
         "    model = calibrate_batch_norm(ShatterMLP(depth, batch_norm=batch_norm, seed=seed), x)  # ignores residual\n"
         "    values.append(lag1_correlation(gradient_over_grid(model, x)))\n"
         "return float(np.mean(values))",
         "That is the value of the plain nets"),
        ("return float(lag1_vs_depth([depth], seeds, residual=residual, batch_norm=batch_norm).mean())  # setup's helper",
         "you called helpers.diagnostics.lag1_vs_depth"),
    ],
    "nb02_predicted_variance": [
        ("return var0 * (1 + beta) ** blocks  # forgets the square",
         "You multiplied by (1 + beta) per block"),
        ("return var0 * (1 + beta**2) ** blocks  # batch norm changes nothing?",
         "With batch norm, BN(h) has variance 1 whatever h is"),
        ("if batch_norm:\n"
         "    return var0 + blocks * beta  # beta, not beta squared\n"
         "return var0 * (1 + beta**2) ** blocks",
         "Each block adds beta^2, not beta"),
        ("if batch_norm:\n"
         "    return var0 + blocks * beta**2\n"
         "return var0 * (1 + blocks * beta**2)  # additive without batch norm too",
         "Without normalisation each block multiplies the variance"),
    ],
    "nb02_max_branch_scale": [
        ("return max_growth ** (1 / blocks) - 1  # beta squared, not beta",
         "which is β² (or β under a (1 + β) law per block)"),
        ("return math.exp(math.log(max_growth) / blocks) - 1  # from (1 + beta)^blocks = max_growth",
         "(or β under a (1 + β) law per block)"),
        ("return math.sqrt(max_growth - 1)  # max_growth allowed in every block",
         "max_growth is the limit for the whole stack"),
        ("return math.sqrt((max_growth - 1) / blocks)  # additive growth, as with batch norm",
         "additive growth, 1 + blocks·β², batch norm's law"),
        ("return math.sqrt(math.log(max_growth) / blocks)  # (1 + beta^2)^blocks ~ exp(blocks beta^2)",
         "the approximation (1 + β²)^blocks ≈ exp(blocks·β²)"),
        ("return math.sqrt(max_growth ** (1 / (blocks - 1)) - 1)  # L - 1, as in Var(h after L - 1 blocks)",
         "that is the answer for blocks - 1 blocks"),
        ("return 0.99 * math.sqrt(max_growth ** (1 / blocks) - 1)  # a safety margin",
         "β is not the largest such value"),
        ("return 1.01 * math.sqrt(max_growth ** (1 / blocks) - 1)  # rounded up",
         "too large"),
    ],
}
