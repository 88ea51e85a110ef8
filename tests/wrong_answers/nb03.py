"""Wrong answers for 03_residual_blocks."""

WRONG = {
    "nb03_preact_block": [
        # the original (post-activation) order
        ("out = F.relu(bn1(conv1(x)))\n"
         "out = bn2(conv2(out))\n"
         "return F.relu(out + (x if shortcut is None else shortcut(x)))",
         "that is the original post-activation block"),
        # a ReLU after the addition, as in the original block
        ("out = F.relu(bn1(x))\n"
         "identity = x if shortcut is None else shortcut(out)\n"
         "out = conv2(F.relu(bn2(conv1(out))))\n"
         "return F.relu(out + identity)",
         "your output has a ReLU after the addition"),
        # the shortcut applied to x instead of relu(bn1(x))
        ("out = F.relu(bn1(x))\n"
         "identity = x if shortcut is None else shortcut(x)\n"
         "out = conv2(F.relu(bn2(conv1(out))))\n"
         "return out + identity",
         "the shortcut was applied to x"),
        # adds the pre-activated input even when there is no shortcut module
        ("out = F.relu(bn1(x))\n"
         "identity = out if shortcut is None else shortcut(out)\n"
         "return conv2(F.relu(bn2(conv1(out)))) + identity",
         "you added relu(bn1(x)) instead of x"),
        # calls bn1 twice (its running statistics are updated twice)
        ("identity = x if shortcut is None else shortcut(F.relu(bn1(x)))\n"
         "out = conv2(F.relu(bn2(conv1(F.relu(bn1(x))))))\n"
         "return out + identity",
         "bn1's running statistics were updated a different number of times"),
        # the post-activation order, without the final ReLU
        ("out = F.relu(bn1(conv1(x)))\n"
         "return bn2(conv2(out)) + (x if shortcut is None else shortcut(x))",
         "that is the post-activation order"),
    ],
    "nb03_pad_shortcut": [
        # zeros first
        ("x = x[:, :, ::stride, ::stride]\n"
         "zeros = x.new_zeros(x.shape[0], out_channels - x.shape[1], x.shape[2], x.shape[3])\n"
         "return torch.cat([zeros, x], dim=1)",
         "the zero channels come first"),
        # zeros split between both sides (a common implementation, but not this convention)
        ("x = x[:, :, ::stride, ::stride]\n"
         "extra = out_channels - x.shape[1]\n"
         "zeros = x.new_zeros(x.shape[0], extra, x.shape[2], x.shape[3])\n"
         "return torch.cat([zeros[:, : extra // 2], x, zeros[:, extra // 2:]], dim=1)",
         "you split the zero channels between both sides"),
        # max-pooling instead of subsampling
        ("x = F.max_pool2d(x, stride, stride, ceil_mode=True)\n"
         "zeros = x.new_zeros(x.shape[0], out_channels - x.shape[1], x.shape[2], x.shape[3])\n"
         "return torch.cat([x, zeros], dim=1)",
         "you pooled"),
        # rounds the size down (nearest-neighbour downscaling)
        ("x = F.interpolate(x, scale_factor=1 / stride, mode='nearest')\n"
         "zeros = x.new_zeros(x.shape[0], out_channels - x.shape[1], x.shape[2], x.shape[3])\n"
         "return torch.cat([x, zeros], dim=1)",
         "for odd sizes that keeps the last row too"),
        # keeps the second pixel of each pair
        ("x = x[:, :, stride - 1::stride, stride - 1::stride]\n"
         "zeros = x.new_zeros(x.shape[0], out_channels - x.shape[1], x.shape[2], x.shape[3])\n"
         "return torch.cat([x, zeros], dim=1)",
         "you kept a pixel of each 2x2 square other than the top-left one"),
        # PadShortcut.forward's two lines, copied
        ("x = x[:, :, ::stride, ::stride]\n"
         "return nn.functional.pad(x, (0, 0, 0, 0, 0, out_channels - x.shape[1]))",
         "you called torch.nn.functional.pad"),
        # delegates to the ready-made module
        ("shortcut = make_shortcut('A', x.shape[1], out_channels, stride)\n"
         "return x if shortcut is None else shortcut(x)",
         "you called helpers.models.make_shortcut"),
        # pads with ones
        ("x = x[:, :, ::stride, ::stride]\n"
         "ones = x.new_ones(x.shape[0], out_channels - x.shape[1], x.shape[2], x.shape[3])\n"
         "return torch.cat([x, ones], dim=1)",
         "option A pads with zeros"),
        # zeros without x's dtype and device: float32 on the CPU
        ("x = x[:, :, ::stride, ::stride]\n"
         "zeros = torch.zeros(x.shape[0], out_channels - x.shape[1], x.shape[2], x.shape[3])\n"
         "return torch.cat([x, zeros], dim=1)",
         "x's dtype and device"),
    ],
    "nb03_shortcut_params": [
        # option B always projects, even where the identity fits
        ("if kind == 'A':\n"
         "    return 0\n"
         "return in_channels * out_channels + 2 * out_channels",
         "the shortcut is the plain identity for either option"),
        # the projection's batch norm forgotten
        ("if stride == 1 and in_channels == out_channels or kind == 'A':\n"
         "    return 0\n"
         "return in_channels * out_channels",
         "its batch norm adds 2 parameters (gamma, beta) per channel"),
        # a bias in the 1x1 convolution
        ("if stride == 1 and in_channels == out_channels or kind == 'A':\n"
         "    return 0\n"
         "return in_channels * out_channels + out_channels + 2 * out_channels",
         "The 1x1 convolution has no bias"),
        # measures instead of counting
        ("shortcut = make_shortcut(kind, in_channels, out_channels, stride)\n"
         "return 0 if shortcut is None else count_parameters(shortcut)",
         "you called helpers.models.make_shortcut"),
        # counts option A's zero channels as parameters
        ("if stride == 1 and in_channels == out_channels:\n"
         "    return 0\n"
         "if kind == 'A':\n"
         "    return out_channels - in_channels\n"
         "return in_channels * out_channels + 2 * out_channels",
         "option A learns nothing"),
        # builds option B's layers by hand to measure them
        ("if stride == 1 and in_channels == out_channels or kind == 'A':\n"
         "    return 0\n"
         "return count_parameters(nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),\n"
         "                                      nn.BatchNorm2d(out_channels)))",
         "you called nn.Conv2d"),
        # right for every shape the cases list, wrong only at ResNet-34's 128 -> 256 transition
        ("if stride == 1 and in_channels == out_channels or kind == 'A':\n"
         "    return 0\n"
         "return in_channels * out_channels + (2 * out_channels if in_channels != 128 else 0)",
         "torchvision's resnet34 holds 173,824"),
    ],
    "nb03_embed": [
        # cell-012's recipe with beta forgotten: gamma alone zeroed in the extra blocks
        ("with torch.no_grad():\n"
         "    for name in ('conv1', 'bn1', 'fc'):\n"
         "        getattr(deep, name).load_state_dict(getattr(shallow, name).state_dict())\n"
         "    for small, big in zip(shallow.stages(), deep.stages()):\n"
         "        for block, target in zip(small, big):\n"
         "            target.load_state_dict(block.state_dict())\n"
         "        for extra in big[len(small):]:\n"
         "            extra.bn2.weight.zero_()",
         "that bias still adds to every pixel before the relu"),
        # cell-012 copied as it is: a deep copy of shallow with zeroed blocks appended, returned
        ("deeper = copy.deepcopy(shallow)\n"
         "for stage, big in zip(deeper.stages(), deep.stages()):\n"
         "    while len(stage) < len(big):\n"
         "        extra = copy.deepcopy(big[len(stage)])\n"
         "        nn.init.zeros_(extra.bn2.weight)\n"
         "        nn.init.zeros_(extra.bn2.bias)\n"
         "        stage.append(extra)\n"
         "return deeper",
         "returned a new model"),
        # shallow's blocks into the last blocks of each stage, the extra (identity) blocks first
        ("with torch.no_grad():\n"
         "    for name in ('conv1', 'bn1', 'fc'):\n"
         "        getattr(deep, name).load_state_dict(getattr(shallow, name).state_dict())\n"
         "    for small, big in zip(shallow.stages(), deep.stages()):\n"
         "        extra = len(big) - len(small)\n"
         "        for block in big[:extra]:\n"
         "            block.bn2.weight.zero_()\n"
         "            block.bn2.bias.zero_()\n"
         "        for block, target in zip(small, big[extra:]):\n"
         "            target.load_state_dict(block.state_dict())",
         "only deep's first block of that stage has those shapes"),
        # the stem forgotten
        ("with torch.no_grad():\n"
         "    deep.fc.load_state_dict(shallow.fc.state_dict())\n"
         "    for small, big in zip(shallow.stages(), deep.stages()):\n"
         "        for block, target in zip(small, big):\n"
         "            target.load_state_dict(block.state_dict())\n"
         "        for extra in big[len(small):]:\n"
         "            extra.bn2.weight.zero_()\n"
         "            extra.bn2.bias.zero_()",
         "deep needs shallow's stem as well as its blocks"),
        # the classifier forgotten
        ("with torch.no_grad():\n"
         "    deep.conv1.load_state_dict(shallow.conv1.state_dict())\n"
         "    deep.bn1.load_state_dict(shallow.bn1.state_dict())\n"
         "    for small, big in zip(shallow.stages(), deep.stages()):\n"
         "        for block, target in zip(small, big):\n"
         "            target.load_state_dict(block.state_dict())\n"
         "        for extra in big[len(small):]:\n"
         "            extra.bn2.weight.zero_()\n"
         "            extra.bn2.bias.zero_()",
         "deep's classifier fc was not copied"),
        # copies in the wrong direction: shallow is overwritten with deep's values
        ("with torch.no_grad():\n"
         "    for name in ('conv1', 'bn1', 'fc'):\n"
         "        getattr(shallow, name).load_state_dict(getattr(deep, name).state_dict())\n"
         "    for small, big in zip(shallow.stages(), deep.stages()):\n"
         "        for block, target in zip(small, big):\n"
         "            block.load_state_dict(target.state_dict())\n"
         "        for extra in big[len(small):]:\n"
         "            extra.bn2.weight.zero_()\n"
         "            extra.bn2.bias.zero_()",
         "changed shallow"),
        # parameters copied, running statistics (buffers) not
        ("with torch.no_grad():\n"
         "    pairs = [(shallow.conv1, deep.conv1), (shallow.bn1, deep.bn1), (shallow.fc, deep.fc)]\n"
         "    for small, big in zip(shallow.stages(), deep.stages()):\n"
         "        pairs += list(zip(small, big))\n"
         "        for extra in big[len(small):]:\n"
         "            extra.bn2.weight.zero_()\n"
         "            extra.bn2.bias.zero_()\n"
         "    for source, target in pairs:\n"
         "        for p, q in zip(target.parameters(), source.parameters()):\n"
         "            p.copy_(q)",
         "running statistics (running_mean, running_var) were not copied"),
        # shallow's modules put into deep: the two nets now share tensors
        ("for name in ('conv1', 'bn1', 'fc'):\n"
         "    setattr(deep, name, getattr(shallow, name))\n"
         "with torch.no_grad():\n"
         "    for small, big in zip(shallow.stages(), deep.stages()):\n"
         "        for extra in big[len(small):]:\n"
         "            extra.bn2.weight.zero_()\n"
         "            extra.bn2.bias.zero_()\n"
         "        for j, block in enumerate(small):\n"
         "            big[j] = block",
         "deep now shares it with shallow"),
        # the extra blocks left as they were
        ("with torch.no_grad():\n"
         "    for name in ('conv1', 'bn1', 'fc'):\n"
         "        getattr(deep, name).load_state_dict(getattr(shallow, name).state_dict())\n"
         "    for small, big in zip(shallow.stages(), deep.stages()):\n"
         "        for block, target in zip(small, big):\n"
         "            target.load_state_dict(block.state_dict())",
         "an extra block, is not the identity. Its branch must output zero"),
        # rebinding the name: the caller's deep is untouched
        ("deep = copy.deepcopy(shallow)",
         "only makes the local name point to another object"),
    ],
}
