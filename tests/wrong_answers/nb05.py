"""Wrong answers for 05_bottleneck_and_the_resnet_family."""

WRONG = {
    "nb05_bottleneck_params": [
        ("out = 4 * channels\n"
         "params = in_channels * channels + 9 * channels * channels + channels * out\n"
         "if stride != 1 or in_channels != out:\n"
         "    params += in_channels * out\n"
         "return params  # convolutions only, no batch norm",
         "That is the convolutions alone"),
        ("out = 4 * channels\n"
         "return (in_channels * channels + 2 * channels + 9 * channels * channels + 2 * channels\n"
         "        + channels * out + 2 * out)  # forgets the projection shortcut",
         "the shortcut is a 1x1 convolution with its own batch norm"),
        ("out = 4 * channels\n"
         "params = in_channels * channels + 2 * channels + 9 * channels * channels + 2 * channels\n"
         "params += channels * out + 2 * out\n"
         "return params + in_channels * out + 2 * out  # a projection even where the identity fits",
         "the shortcut is the identity, with no parameters"),
        ("params = in_channels * channels + 2 * channels + 9 * channels * channels + 2 * channels\n"
         "params += channels * channels + 2 * channels  # no expansion by 4\n"
         "if stride != 1 or in_channels != channels:\n"
         "    params += in_channels * channels + 2 * channels\n"
         "return params",
         "remember the expansion"),
        ("shortcut = make_shortcut('B', in_channels, 4 * channels, stride)\n"
         "return count_parameters(Bottleneck(in_channels, channels, stride, shortcut))  # measures",
         "you called helpers.models.make_shortcut"),
        ("return bottleneck_cost(in_channels, channels, stride).params  # the library's formula",
         "you called helpers.flops.bottleneck_cost"),
    ],
    "nb05_bottleneck_macs": [
        ("out = 4 * channels\n"
         "small = (size - 1) // stride + 1\n"
         "macs = in_channels * channels * size * size + 9 * channels * channels * small * small\n"
         "macs += channels * out * small * small\n"
         "if stride != 1 or in_channels != out:\n"
         "    macs += in_channels * out * small * small\n"
         "return 2 * macs  # FLOPs, not multiply-adds",
         "That is the FLOP count"),
        ("out = 4 * channels\n"
         "small = (size - 1) // stride + 1\n"
         "return (in_channels * channels * size * size + 9 * channels * channels * small * small\n"
         "        + channels * out * small * small)  # forgets the projection shortcut",
         "The projection shortcut (a 1x1 convolution at the output size) costs multiply-adds too"),
        ("out = 4 * channels\n"
         "small = (size - 1) // stride + 1\n"
         "macs = in_channels * channels * small * small  # stride in the first 1x1 (the paper's v1 block)\n"
         "macs += 9 * channels * channels * small * small + channels * out * small * small\n"
         "if stride != 1 or in_channels != out:\n"
         "    macs += in_channels * out * small * small\n"
         "return macs",
         "You put the stride in the first 1x1 convolution"),
        ("out = 4 * channels\n"
         "small = size // stride  # rounds down: wrong for odd sizes\n"
         "macs = in_channels * channels * size * size + 9 * channels * channels * small * small\n"
         "macs += channels * out * small * small\n"
         "if stride != 1 or in_channels != out:\n"
         "    macs += in_channels * out * small * small\n"
         "return macs",
         "not size // 2"),
        ("out = 4 * channels\n"
         "macs = in_channels * channels * size * size + 9 * channels * channels * size * size\n"
         "macs += channels * out * size * size  # ignores the stride\n"
         "if stride != 1 or in_channels != out:\n"
         "    macs += in_channels * out * size * size\n"
         "return macs",
         "The stride is missing"),
        ("return bottleneck_cost(in_channels, channels, stride, size).macs  # the library's formula",
         "you called helpers.flops.bottleneck_cost"),
        ("return count_macs(Bottleneck(in_channels, channels, stride, make_shortcut('B', in_channels, 4 * channels, stride)),\n"
         "                  (1, in_channels, size, size))  # measures",
         "you called helpers.flops.count_macs"),
    ],
    "nb05_bottleneck_forward": [
        ("out = F.relu(block.bn1(block.conv1(x)))\n"
         "out = F.relu(block.bn2(block.conv2(out)))\n"
         "out = block.bn3(block.conv3(out))\n"
         "shortcut = x if block.downsample is None else block.downsample(x)\n"
         "return out + shortcut  # no final ReLU",
         "a block ends with a ReLU, after the addition"),
        ("out = F.relu(block.bn1(block.conv1(x)))\n"
         "out = F.relu(block.bn2(block.conv2(out)))\n"
         "out = F.relu(block.bn3(block.conv3(out)))\n"
         "shortcut = x if block.downsample is None else block.downsample(x)\n"
         "return out + shortcut  # ReLU before the addition",
         "you apply the last ReLU before adding the shortcut"),
        ("out = F.relu(block.bn1(block.conv1(x)))\n"
         "out = F.relu(block.bn2(block.conv2(out)))\n"
         "out = F.relu(block.bn3(block.conv3(out)))  # a ReLU before the addition, and one after\n"
         "return F.relu(out + (x if block.downsample is None else block.downsample(x)))",
         "and another after it"),
        ("out = F.relu(block.bn1(block.conv1(x)))\n"
         "out = F.relu(block.bn2(block.conv2(out)))\n"
         "out = block.bn3(block.conv3(out))\n"
         "return F.relu(out + x)  # ignores the projection",
         "pass the input through block.downsample first"),
        ("out = F.relu(block.bn1(block.conv1(x)))\n"
         "out = F.relu(block.bn2(block.conv2(out)))\n"
         "return F.relu(block.bn3(block.conv3(out)))  # no shortcut at all",
         "the shortcut is missing"),
        ("out = F.relu(block.conv1(x))\n"
         "out = F.relu(block.conv2(out))\n"
         "out = block.conv3(out)\n"
         "shortcut = x if block.downsample is None else block.downsample(x)\n"
         "return F.relu(out + shortcut)  # skips the batch norms",
         "the batch norms are missing"),
        ("return block(x)  # calls the block itself", "called the block itself"),
        ("out = F.relu(block.bn1(block.conv1(x)))\n"
         "out = block.bn2(block.conv2(out))\n"
         "return F.relu(out + (x if block.downsample is None else block.downsample(x)))"
         "  # MyBasicBlock.forward, copied",
         "your branch stops after conv2 and bn2"),
    ],
    "nb05_grouped_conv2d": [
        ("return F.conv2d(x, weight, stride=stride, padding=padding, groups=groups)  # the built-in",
         "passed groups=... to F.conv2d"),
        ("c = x.shape[1] // groups\n"
         "parts = [F.conv2d(x[:, :c], wg, stride=stride, padding=padding) for wg in weight.chunk(groups, 0)]\n"
         "return torch.cat(parts, 1)  # every group sees the first group's channels",
         "every group saw the first group's input channels"),
        ("parts = [F.conv2d(xg, wg) for xg, wg in zip(x.chunk(groups, 1), weight.chunk(groups, 0))]\n"
         "return torch.cat(parts, 1)  # forgets stride and padding",
         "without the padding: pass stride=1 and padding=1"),
        ("parts = [F.conv2d(xg, wg, padding=padding) for xg, wg in zip(x.chunk(groups, 1), weight.chunk(groups, 0))]\n"
         "return torch.cat(parts, 1)  # forgets the stride",
         "without the stride: pass stride=2"),
        ("parts = [F.conv2d(xg, wg, stride=stride, padding=padding)\n"
         "         for xg, wg in zip(x.chunk(groups, 1), weight.chunk(groups, 0))]\n"
         "return torch.stack(parts, 1).sum(1)  # sums the groups instead of concatenating",
         "you added up the groups' outputs"),
        ("return torch.conv2d(x, weight, None, stride, padding, 1, groups)  # torch.conv2d with groups",
         "passed groups=... to F.conv2d"),
        ("from torch.nn.functional import conv2d\n"
         "return conv2d(x, weight, stride=stride, padding=padding, groups=groups)  # imported under its own name",
         "passed groups=... to F.conv2d"),
        ("c_out, c_in = weight.shape[0], x.shape[1]\n"
         "dense = weight.new_zeros(c_out, c_in, *weight.shape[2:])\n"
         "for o in range(c_out):\n"
         "    group = o // (c_out // groups)\n"
         "    dense[o, group * (c_in // groups):(group + 1) * (c_in // groups)] = weight[o]\n"
         "return F.conv2d(x, dense, stride=stride, padding=padding)  # the notebook's block-diagonal weight",
         "ran one convolution over all 8 input channels"),
        ("dense = torch.zeros(12, 8, 3, 3)\n"
         "for o in range(12):\n"
         "    group = o // (12 // groups)\n"
         "    dense[o, 2 * group:2 * group + 2] = weight[o]\n"
         "return F.conv2d(x, dense, padding=1)  # the notebook's cell, copied verbatim",
         "ran one convolution over all 8 input channels"),
    ],
    "nb05_preact_bottleneck_forward": [
        ("out = F.relu(block.bn1(block.conv1(x)))\n"
         "out = F.relu(block.bn2(block.conv2(out)))\n"
         "out = block.bn3(block.conv3(out))\n"
         "shortcut = x if block.downsample is None else block.downsample(x)\n"
         "return F.relu(out + shortcut)  # Exercise 3's post-activation forward, copied",
         "post-activation order of Exercise 3"),
        ("pre = F.relu(block.bn1(x))\n"
         "shortcut = x if block.downsample is None else block.downsample(pre)\n"
         "out = block.conv3(F.relu(block.bn3(block.conv2(F.relu(block.bn2(block.conv1(pre)))))))\n"
         "return F.relu(out + shortcut)  # a ReLU after the addition",
         "no ReLU after the addition"),
        ("pre = F.relu(block.bn1(x))\n"
         "shortcut = x if block.downsample is None else block.downsample(x)  # the raw input\n"
         "out = block.conv3(F.relu(block.bn3(block.conv2(F.relu(block.bn2(block.conv1(pre)))))))\n"
         "return out + shortcut",
         "the projection shortcut got the raw input x"),
        ("x = F.relu(block.bn1(x))  # overwrites the input the identity shortcut needs\n"
         "shortcut = x if block.downsample is None else block.downsample(x)\n"
         "out = block.conv3(F.relu(block.bn3(block.conv2(F.relu(block.bn2(block.conv1(x)))))))\n"
         "return out + shortcut",
         "the identity shortcut adds relu(bn1(x))"),
        ("pre = F.relu(block.bn1(x))\n"
         "shortcut = x if block.downsample is None else block.downsample(pre)\n"
         "out = block.conv3(F.relu(block.bn3(block.conv2(F.relu(block.conv1(pre))))))  # no bn2\n"
         "return out + shortcut",
         "block.bn2 is missing"),
        ("pre = F.relu(block.bn1(x))\n"
         "shortcut = x if block.downsample is None else block.downsample(pre)\n"
         "out = block.conv2(F.relu(block.bn2(block.conv1(pre))))\n"
         "out = block.bn3(block.conv3(F.relu(out)))  # bn3 after conv3\n"
         "return out + shortcut",
         "you applied bn3 after conv3"),
        ("out = block.conv1(F.relu(block.bn1(x)))\n"
         "out = block.conv2(F.relu(block.bn2(out)))\n"
         "out = block.conv3(F.relu(block.bn3(out)))\n"
         "shortcut = x if block.downsample is None else block.downsample(F.relu(block.bn1(x)))  # bn1 again\n"
         "return out + shortcut",
         "it ran 2 times in one call"),
        ("return block(x)  # the block's own forward pass", "you called PreActBottleneck.forward"),
    ],
}
