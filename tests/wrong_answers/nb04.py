"""Wrong answers for 04_batch_norm."""

WRONG = {
    "nb04_batch_norm_train": [
        # the unbiased variance (divide by n - 1) in the normalisation
        ("dims = [0] + list(range(2, x.ndim))\n"
         "shape = [1, -1] + [1] * (x.ndim - 2)\n"
         "mean = x.mean(dim=dims, keepdim=True)\n"
         "var = x.var(dim=dims, keepdim=True)\n"
         "return gamma.view(shape) * (x - mean) / torch.sqrt(var + eps) + beta.view(shape)",
         "uses the unbiased variance"),
        # normalising over the batch axis only (a separate mean at every pixel)
        ("shape = [1, -1] + [1] * (x.ndim - 2)\n"
         "mean = x.mean(dim=0, keepdim=True)\n"
         "var = x.var(dim=0, keepdim=True, unbiased=False)\n"
         "return gamma.view(shape) * (x - mean) / torch.sqrt(var + eps) + beta.view(shape)",
         "you normalised over the batch axis only"),
        # normalising each sample over its channels and pixels (layer norm)
        ("dims = list(range(1, x.ndim))\n"
         "shape = [1, -1] + [1] * (x.ndim - 2)\n"
         "mean = x.mean(dim=dims, keepdim=True)\n"
         "var = x.var(dim=dims, keepdim=True, unbiased=False)\n"
         "return gamma.view(shape) * (x - mean) / torch.sqrt(var + eps) + beta.view(shape)",
         "that is layer norm"),
        # no eps
        ("dims = [0] + list(range(2, x.ndim))\n"
         "shape = [1, -1] + [1] * (x.ndim - 2)\n"
         "mean = x.mean(dim=dims, keepdim=True)\n"
         "var = x.var(dim=dims, keepdim=True, unbiased=False)\n"
         "return gamma.view(shape) * (x - mean) / torch.sqrt(var) + beta.view(shape)",
         "you forgot eps"),
        # forgets gamma and beta
        ("dims = [0] + list(range(2, x.ndim))\n"
         "mean = x.mean(dim=dims, keepdim=True)\n"
         "var = x.var(dim=dims, keepdim=True, unbiased=False)\n"
         "return (x - mean) / torch.sqrt(var + eps)",
         "gamma and beta are missing"),
        # only works for 4-D inputs
        ("mean = x.mean(dim=(0, 2, 3), keepdim=True)\n"
         "var = x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)\n"
         "return gamma.view(1, -1, 1, 1) * (x - mean) / torch.sqrt(var + eps) + beta.view(1, -1, 1, 1)",
         "It is a 2-D (N, C) input"),
        # not from scratch: PyTorch's own batch norm
        ("return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)",
         "you called torch.nn.functional.batch_norm"),
    ],
    "nb04_update_running_stats": [
        # right values, but computed from an x that requires grad: the buffers would keep the batch's graph
        ("dims = [0] + list(range(2, x.ndim))\n"
         "new_mean = (1 - momentum) * running_mean + momentum * x.mean(dim=dims)\n"
         "new_var = (1 - momentum) * running_var + momentum * x.var(dim=dims, unbiased=True)\n"
         "return new_mean, new_var",
         "carry a gradient"),
        # the biased batch variance in the running estimate
        ("dims = [0] + list(range(2, x.ndim))\n"
         "new_mean = (1 - momentum) * running_mean + momentum * x.mean(dim=dims)\n"
         "new_var = (1 - momentum) * running_var + momentum * x.var(dim=dims, unbiased=False)\n"
         "return new_mean, new_var",
         "updated with the biased batch variance"),
        # momentum as the weight of the old value (the optimiser's convention)
        ("dims = [0] + list(range(2, x.ndim))\n"
         "new_mean = momentum * running_mean + (1 - momentum) * x.mean(dim=dims)\n"
         "new_var = momentum * running_var + (1 - momentum) * x.var(dim=dims)\n"
         "return new_mean, new_var",
         "the weights are swapped"),
        # statistics over the batch axis only, averaged afterwards over the pixels
        ("new_mean = (1 - momentum) * running_mean + momentum * x.mean(dim=0).reshape(x.shape[1], -1).mean(1)\n"
         "new_var = (1 - momentum) * running_var + momentum * x.var(dim=0).reshape(x.shape[1], -1).mean(1)\n"
         "return new_mean, new_var",
         "compared with nn.BatchNorm: values differ from the reference"),
        # replaces the running statistics by the batch's
        ("dims = [0] + list(range(2, x.ndim))\n"
         "return x.mean(dim=dims), x.var(dim=dims)",
         "you returned the batch's own mean"),
        # PyTorch's batch norm does the update (Exercises 1 and 3 refuse it too)
        ("running_mean, running_var = running_mean.clone(), running_var.clone()\n"
         "F.batch_norm(x, running_mean, running_var, training=True, momentum=momentum)\n"
         "return running_mean, running_var",
         "you called torch.nn.functional.batch_norm"),
        ("bn = (nn.BatchNorm1d if x.ndim == 2 else nn.BatchNorm2d)(x.shape[1], momentum=momentum).double()\n"
         "bn.running_mean.copy_(running_mean)\n"
         "bn.running_var.copy_(running_var)\n"
         "bn(x)\n"
         "return bn.running_mean.clone(), bn.running_var.clone()",
         "you called torch.nn.functional.batch_norm"),
        # updates the caller's buffers in place
        ("dims = [0] + list(range(2, x.ndim))\n"
         "running_mean.mul_(1 - momentum).add_(momentum * x.mean(dim=dims))\n"
         "running_var.mul_(1 - momentum).add_(momentum * x.var(dim=dims, unbiased=True))\n"
         "return running_mean, running_var",
         "in place"),
    ],
    "nb04_batch_norm_eval": [
        # batch statistics in eval mode
        ("dims = [0] + list(range(2, x.ndim))\n"
         "shape = [1, -1] + [1] * (x.ndim - 2)\n"
         "mean = x.mean(dim=dims, keepdim=True)\n"
         "var = x.var(dim=dims, keepdim=True, unbiased=False)\n"
         "return gamma.view(shape) * (x - mean) / torch.sqrt(var + eps) + beta.view(shape)",
         "normalised with the batch's own mean and variance"),
        # forgets eps
        ("shape = [1, -1] + [1] * (x.ndim - 2)\n"
         "x_hat = (x - running_mean.view(shape)) / torch.sqrt(running_var.view(shape))\n"
         "return gamma.view(shape) * x_hat + beta.view(shape)",
         "you forgot eps"),
        # divides by the variance instead of the standard deviation
        ("shape = [1, -1] + [1] * (x.ndim - 2)\n"
         "x_hat = (x - running_mean.view(shape)) / (running_var.view(shape) + eps)\n"
         "return gamma.view(shape) * x_hat + beta.view(shape)",
         "you divided by running_var + eps itself"),
        # not from scratch: an nn.BatchNorm layer in eval mode with the given statistics
        ("bn = (nn.BatchNorm1d if x.ndim == 2 else nn.BatchNorm2d)(x.shape[1], eps=eps).eval()\n"
         "with torch.no_grad():\n"
         "    bn.running_mean.copy_(running_mean)\n"
         "    bn.running_var.copy_(running_var)\n"
         "    bn.weight.copy_(gamma)\n"
         "    bn.bias.copy_(beta)\n"
         "return bn(x)",
         "you called torch.nn.functional.batch_norm"),
    ],
    "nb04_predict_residual_std": [
        # the two regimes swapped
        ("if not batch_norm:\n"
         "    return math.sqrt(1 + depth * branch_scale**2 * gain**2)\n"
         "return (1 + branch_scale**2 * gain**(2 * convs)) ** (depth / 2)",
         "That is the answer for batch_norm=True"),
        # the variance instead of the std
        ("if batch_norm:\n"
         "    return 1 + depth * branch_scale**2 * gain**2\n"
         "return (1 + branch_scale**2 * gain**(2 * convs)) ** depth",
         "You returned the variance"),
        # one convolution's gain only (gain**2 instead of gain**(2 * convs))
        ("if batch_norm:\n"
         "    return math.sqrt(1 + depth * branch_scale**2 * gain**2)\n"
         "return (1 + branch_scale**2 * gain**2) ** (depth / 2)",
         "each multiplying the variance by gain**2"),
        # the branch scale not squared
        ("if batch_norm:\n"
         "    return math.sqrt(1 + depth * branch_scale * gain**2)\n"
         "return (1 + branch_scale * gain**(2 * convs)) ** (depth / 2)",
         "its VARIANCE is multiplied by branch_scale**2"),
        # with batch norm, forgets that the gain still scales the last convolution
        ("if batch_norm:\n"
         "    return math.sqrt(1 + depth * branch_scale**2)\n"
         "return (1 + branch_scale**2 * gain**(2 * convs)) ** (depth / 2)",
         "that convolution's weights still carry the gain"),
        # section 3's two-convolution law copied, whatever convs is
        ("if batch_norm:\n"
         "    return math.sqrt(1 + depth * branch_scale**2 * gain**2)\n"
         "return (1 + branch_scale**2 * gain**4) ** (depth / 2)",
         "That is the answer for a branch of two convolutions"),
        # with batch norm, every convolution's gain compounded
        ("if batch_norm:\n"
         "    return math.sqrt(1 + depth * branch_scale**2 * gain**(2 * convs))\n"
         "return (1 + branch_scale**2 * gain**(2 * convs)) ** (depth / 2)",
         "only the LAST convolution's gain reaches"),
        # the check's own reference
        ("from helpers.checks.nb04 import expected_residual_std\n"
         "return expected_residual_std(depth, gain, branch_scale, batch_norm, convs)",
         "your answer uses helpers.checks.nb04"),
    ],
    "nb04_fold_batch_norm": [
        # forgets eps
        ("scale = gamma / torch.sqrt(running_var)\n"
         "return weight * scale.view(-1, 1, 1, 1), beta - scale * running_mean",
         "you forgot eps"),
        # bias without gamma
        ("scale = gamma / torch.sqrt(running_var + eps)\n"
         "return weight * scale.view(-1, 1, 1, 1), beta - running_mean / torch.sqrt(running_var + eps)",
         "the bias forgets to scale the running mean by gamma"),
        # scales the input channels instead of the output channels
        ("scale = gamma / torch.sqrt(running_var + eps)\n"
         "return weight * scale.view(1, -1, 1, 1), beta - scale * running_mean",
         "your code raised RuntimeError: The size of tensor a"),
        # keeps the bias of batch norm only
        ("scale = gamma / torch.sqrt(running_var + eps)\n"
         "return weight * scale.view(-1, 1, 1, 1), beta",
         "the bias must also absorb the running mean"),
        # the running mean subtracted as it is
        ("scale = gamma / torch.sqrt(running_var + eps)\n"
         "return weight * scale.view(-1, 1, 1, 1), beta - running_mean",
         "the bias subtracts the running mean unscaled"),
    ],
}
