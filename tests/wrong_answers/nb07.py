"""Wrong answers for 07_what_the_shortcuts_do."""

_STEM = "h = model.maxpool(model.relu(model.bn1(model.conv1(images))))\n"
_HEAD = "return model.fc(torch.flatten(model.avgpool(h), 1))"


def _walk(deleted_line: str, stem: str = _STEM) -> str:
    return (stem + "for stage_name in model.stage_names:\n"
            "    for i, block in enumerate(getattr(model, stage_name)):\n"
            "        if f'{stage_name}.{i}' in deleted:\n"
            f"            {deleted_line}\n"
            "        else:\n"
            "            h = block(h)\n" + _HEAD)


WRONG = {
    "nb07_lesioned_logits": [
        (_walk("h = h if block.downsample is None else block.downsample(h)  # the block's ReLU forgotten"),
         "A deleted block still ends with its ReLU"),
        (_walk("h = block.relu(block.bn2(block.conv2(block.relu(block.bn1(block.conv1(h))))))  # branch kept"),
         "You dropped the shortcut and kept the residual branch"),
        (_walk("h = block(h)  # never deleted"), "These are the intact net's logits"),
        (_walk("h = torch.relu(h if block.downsample is None else block.downsample(h))",
               stem="h = model.relu(model.bn1(model.conv1(images)))  # the max pool forgotten\n"),
         "3x3 max pool"),
        ("from helpers.shortcuts import lesioned\nwith lesioned(model, deleted):\n    return model(images)",
         "you called helpers.shortcuts.lesioned"),
        ("import helpers.shortcuts as s\n" + _walk("h = s.deleted(block, h)  # the notebook's helper"),
         "you called helpers.shortcuts.deleted"),
    ],
    "nb07_filter_normalise": [
        ("return [torch.zeros_like(w) if w.dim() <= 1 else d * w.norm() / d.norm()\n"
         "        for d, w in zip(direction, weights)]  # whole tensors",
         "You scaled each tensor as a whole"),
        ("norm = torch.linalg.vector_norm\n"
         "return [torch.zeros_like(w) if w.dim() <= 1 else d / norm(d, dim=tuple(range(1, d.dim())), keepdim=True)\n"
         "        for d, w in zip(direction, weights)]  # unit filters",
         "Each filter has norm 1"),
        ("norm = torch.linalg.vector_norm\n"
         "return [d if w.dim() <= 1 else\n"
         "        d * norm(w, dim=tuple(range(1, w.dim())), keepdim=True) / norm(d, dim=tuple(range(1, d.dim())), keepdim=True)\n"
         "        for d, w in zip(direction, weights)]  # biases kept",
         "Biases and batch-norm parameters"),
        ("norm = torch.linalg.vector_norm\n"
         "out = []\n"
         "for d, w in zip(direction, weights):\n"
         "    if w.dim() <= 1:\n"
         "        out.append(torch.zeros_like(w))\n"
         "        continue\n"
         "    dims = tuple(i for i in range(w.dim()) if i != 1)  # per input channel\n"
         "    out.append(d * norm(w, dim=dims, keepdim=True) / norm(d, dim=dims, keepdim=True))\n"
         "return out",
         "You normalised per input channel"),
        ("return direction  # not normalised at all", "differs from the filter-normalised direction"),
        ("import helpers.shortcuts\n"
         "return helpers.shortcuts.filter_normalised_direction(nn.Linear(1, 1), torch.Generator())",
         "you called helpers.shortcuts.filter_normalised_direction"),
    ],
    "nb07_top_eigenvalue": [
        ("v = torch.randn(dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)\n"
         "for _ in range(iterations):\n"
         "    hv = hvp(v / v.norm())\n"
         "    value = hv.norm().item()  # |lambda|: the sign is lost\n"
         "    v = hv\n"
         "return value",
         "That is its absolute value"),
        ("v = torch.randn(dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)\n"
         "for _ in range(iterations):\n"
         "    v = hvp(v)  # never normalised\n"
         "return (v @ hvp(v) / (v @ v)).item()",
         "Normalise v after every multiplication"),
        ("H = torch.stack([hvp(e) for e in torch.eye(dim, dtype=torch.float64)])  # the whole Hessian\n"
         "values = torch.linalg.eigvalsh(H)\n"
         "return values[values.abs().argmax()].item()",
         "you called torch.linalg.eigvalsh"),
        ("H = torch.stack([hvp(e) for e in torch.eye(dim, dtype=torch.float64)])  # the whole Hessian, column by column\n"
         "v = torch.ones(dim, dtype=torch.float64)\n"
         "for _ in range(iterations):\n"
         "    v = H @ v\n"
         "    v = v / v.norm()\n"
         "return (v @ H @ v).item()",
         "building H column by column"),
        ("v = torch.randn(dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)\n"
         "return (v @ hvp(v) / (v @ v)).item()  # one Rayleigh quotient, no iteration",
         "multiply, normalise, and repeat"),
        ("from helpers.shortcuts import top_hessian_eigenvalue\n"
         "return top_hessian_eigenvalue(nn.Linear(1, 1), torch.zeros(1, 1), torch.zeros(1, dtype=torch.long))",
         "you called helpers.shortcuts.top_hessian_eigenvalue"),
    ],
    "nb07_path_length_counts": [
        ("n = len(has_shortcut)\nreturn [math.comb(n, k) for k in range(n + 1)]  # as if every block had a shortcut",
         "Those are the counts if every block had a shortcut"),
        ("r = sum(has_shortcut)\n"
         "return [math.comb(r, k) if k <= r else 0 for k in range(len(has_shortcut) + 1)]  # plain blocks add nothing",
         "shift the counts by the"),
        ("n = len(has_shortcut)\nreturn [math.comb(n, k) for k in range(n)]  # k = 0..n-1", "n + 1"),
        ("from helpers.shortcuts import path_counts\nreturn path_counts(len(has_shortcut))",
         "you called helpers.shortcuts.path_counts"),
    ],
}
