"""Wrong answers for 01_convolution_as_dot_product."""

WRONG = {
    "nb01_output_size": [
        ("return (h + 2 * p - k) / s + 1  # no floor",
         "a fraction; a window either fits or it does not, so round down"),
        ("return (h + p - k) // s + 1  # padding on one side only", "padding is added on both sides"),
        ("return (h + 2 * p - k) // s  # forgets the first window", "the first window counts too"),
        ("return -(-(h + 2 * p - k) // s) + 1  # rounds up", "you rounded up"),
        ("import math\nreturn math.ceil((h + 2 * p - k) / s) + 1  # rounds up, with math.ceil", "you rounded up"),
        ("return conv_output_size(h, k, s, p)  # the library function the notebook imports",
         "you called helpers.convolution.conv_output_size"),
        ("return F.conv2d(torch.zeros(1, 1, h, h), torch.zeros(1, 1, k, k), stride=s, padding=p).shape[-1]  # measures",
         "you called torch.nn.functional.conv2d"),
    ],
    "nb01_conv2d_im2col": [
        ("n, _, h, w = x.shape\n"
         "c_out, _, kh, kw = weight.shape\n"
         "h_out = (h + 2 * padding - kh) // stride + 1\n"
         "w_out = (w + 2 * padding - kw) // stride + 1\n"
         "cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)\n"
         "return (weight.reshape(c_out, -1) @ cols).view(n, c_out, h_out, w_out)  # forgets the bias",
         "every value is off by the bias"),
        ("n, _, h, w = x.shape\n"
         "c_out, _, kh, kw = weight.shape\n"
         "h_out = (h + 2 * padding - kh) // stride + 1\n"
         "w_out = (w + 2 * padding - kw) // stride + 1\n"
         "cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)\n"
         "out = weight.reshape(c_out, -1) @ cols\n"
         "if bias is not None:\n"
         "    out = out + bias.view(1, -1, 1)\n"
         "return out.view(n, c_out, w_out, h_out).transpose(2, 3)  # rows and columns mixed up",
         "the output's rows and columns are mixed up"),
        ("n, _, h, w = x.shape\n"
         "c_out, _, kh, kw = weight.shape\n"
         "cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)\n"
         "out = weight.reshape(c_out, -1) @ cols\n"
         "if bias is not None:\n"
         "    out = out + bias.view(1, -1, 1)\n"
         "return out.view(n, c_out, h + 2 * padding - kh + 1, w + 2 * padding - kw + 1)  # ignores the stride",
         "Did your reshape ignore the stride or the padding?"),
        ("return F.conv2d(x, weight, bias, stride=stride, padding=padding)  # not im2col",
         "you called torch.nn.functional.conv2d"),
        ("return conv2d_unfold(x, weight, bias, stride=stride, padding=padding)  # the library function",
         "you called helpers.convolution.conv2d_unfold"),
        ("from torch.nn.functional import conv2d\n"
         "return conv2d(x, weight, bias, stride=stride, padding=padding)  # imported under its own name",
         "you called torch.nn.functional.conv2d"),
        ("n, _, h, w = x.shape\n"
         "c_out, _, k, _ = weight.shape  # assumes a square kernel\n"
         "h_out, w_out = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1\n"
         "cols = F.unfold(x, k, padding=padding, stride=stride)\n"
         "out = weight.reshape(c_out, -1) @ cols\n"
         "if bias is not None:\n"
         "    out = out + bias.view(1, -1, 1)\n"
         "return out.view(n, c_out, h_out, w_out)",
         "not square: take K_h = weight.shape[2] and K_w = weight.shape[3] separately"),
    ],
    "nb01_conv_cost": [
        ("h_out = (h + 2 * padding - k) // stride + 1\n"
         "w_out = (w + 2 * padding - k) // stride + 1\n"
         "return c_out * c_in * k * k, c_out * h_out * w_out * c_in * k * k  # forgets the bias",
         "Each output channel has a bias too"),
        ("params = c_out * c_in * k * k + (c_out if bias else 0)\n"
         "return params, c_out * h * w * c_in * k * k  # input size instead of output size",
         "use the output size, not the input size"),
        ("h_out = (h + 2 * padding - k) // stride + 1\n"
         "w_out = (w + 2 * padding - k) // stride + 1\n"
         "params = c_out * c_in * k * k + (c_out if bias else 0)\n"
         "return params, 2 * c_out * h_out * w_out * c_in * k * k  # FLOPs, not multiply-adds",
         "That is the FLOP count"),
        ("h_out = (h + 2 * padding - k) // stride + 1\n"
         "w_out = (w + 2 * padding - k) // stride + 1\n"
         "params = c_out * c_in * k * k + (c_out if bias else 0)\n"
         "return params, c_out * h_out * w_out * k * k  # forgets the input channels",
         "the input channels are missing"),
        ("from helpers.convolution import conv_cost as measure\n"
         "return measure(nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias), (h, w))  # the library",
         "you called helpers.convolution.conv_cost"),
        ("h_out = conv_output_size(h, k, stride, padding)\n"
         "w_out = conv_output_size(w, k, stride, padding)\n"
         "return conv2d_params(c_in, c_out, k, bias=bias), conv2d_macs(c_in, c_out, k, h_out, w_out)  # the library",
         "you called helpers.convolution.conv2d_params"),
        ("layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias)\n"
         "with FlopCounterMode(display=False) as counter:\n"
         "    layer(torch.zeros(1, c_in, h, w))\n"
         "return sum(p.numel() for p in layer.parameters()), counter.get_total_flops() // 2  # measures",
         "you called nn.Conv2d"),
    ],
    "nb01_pointwise_conv": [
        ("n, c, h, w = x.shape\n"
         "return (x.reshape(n, h * w, c) @ weight.T).reshape(n, -1, h, w)  # reshape without moving the channels",
         "reshape (or view) regroups the numbers without moving them"),
        ("return (x.permute(0, 2, 3, 1) @ weight).permute(0, 3, 1, 2)  # weight not transposed",
         "you applied weight transposed"),
        ("return (x.permute(0, 2, 3, 1) @ weight.T).sum(-1, keepdim=True).permute(0, 3, 1, 2)  # one output channel",
         "you summed over the output channels"),
        ("return conv2d_unfold(x, weight[:, :, None, None])  # the library function",
         "you called helpers.convolution.conv2d_unfold"),
        ("return torch.einsum(\"oc,nchw->nohw\", weight, x)  # cell-020's einsum, names adapted",
         "you called torch.einsum"),
    ],
    "nb01_receptive_field": [
        ("return 1 + sum(k - 1 for k, s in layers)  # ignores the strides", "you ignored the strides"),
        ("return sum(k for k, s in layers)  # adds k, not k - 1", "you added k for every layer"),
        ("size, jump = 1, 1\n"
         "for k, s in layers:\n"
         "    jump *= s  # updated before the add\n"
         "    size += (k - 1) * jump\n"
         "return size",
         "you multiplied a layer's k - 1 by its own stride as well"),
        ("size = 1\n"
         "for k, s in layers:\n"
         "    size *= k  # multiplies the kernel sizes\n"
         "return size",
         "you multiplied the kernel sizes"),
        ("size = 1\n"
         "for k, s in layers:  # inverts the output-size formula, first layer first\n"
         "    size = (size - 1) * s + k\n"
         "return size",
         "applied it from the first layer to the last"),
    ],
}
