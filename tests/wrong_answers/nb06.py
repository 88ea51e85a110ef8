"""Wrong answers for 06_resnet34_on_cifar10."""

WRONG = {
    "nb06_confusion_matrix": [
        ("flat = torch.bincount(predictions * num_classes + labels, minlength=num_classes * num_classes)\n"
         "return flat.view(num_classes, num_classes)  # transposed: rows are the predictions",
         "Your matrix is transposed"),
        ("counts = torch.zeros(num_classes, num_classes, dtype=torch.long)\n"
         "counts[labels, predictions] += 1  # a repeated (true, predicted) pair is counted once\n"
         "return counts",
         "adds 1 only once per distinct cell"),
        ("n = int(max(labels.max(), predictions.max())) + 1  # sized from the data, not num_classes\n"
         "flat = torch.bincount(labels * n + predictions, minlength=n * n)\n"
         "return flat.view(n, n)",
         "sized from the largest label seen"),
        ("flat = torch.bincount(labels * num_classes + predictions)  # no minlength\n"
         "return flat.view(num_classes, num_classes)",
         "counts sized from the data come out short"),
        ("counts = torch.zeros(num_classes, num_classes, dtype=torch.long)\n"
         "for t, p in zip(labels.tolist(), predictions.tolist()):\n"
         "    counts[t, p] = 1  # marks the pair instead of counting it\n"
         "return counts",
         "Each cell is 1 where it should count repeated pairs"),
        ("from helpers.evaluation import confusion_matrix as ready_made\n"
         "return ready_made(labels, predictions, num_classes)  # the helper the notebook uses",
         "you called helpers.evaluation.confusion_matrix"),
        ("counts = torch.zeros(num_classes, num_classes)  # float32 counts\n"
         "counts.index_put_((labels, predictions), torch.ones(len(labels)), accumulate=True)\n"
         "return counts",
         "must be integer counts"),
    ],
    "nb06_top_k_accuracy": [
        ("top = logits.argsort(dim=1)[:, :k]  # ascending: the k SMALLEST logits\n"
         "return (top == labels[:, None]).any(dim=1).float().mean().item()",
         "You took the k SMALLEST logits"),
        ("top = logits.topk(k, dim=1).indices\n"
         "return (top == labels[:, None]).any(dim=1).sum().item()  # a count, not a fraction",
         "That is the number of hits"),
        ("top = logits.topk(k, dim=1).indices[:, -1]  # only the k-th best class\n"
         "return (top == labels).float().mean().item()",
         "You checked only the last of the 3 largest logits"),
        ("top = logits.topk(k, dim=1).indices\n"
         "return 100 * (top == labels[:, None]).any(dim=1).float().mean().item()  # a percentage",
         "That is a percentage"),
        ("return (logits.argmax(dim=1) == labels).float().mean().item()  # ignores k: top-1 only",
         "That is the top-1 accuracy"),
        ("from helpers import evaluation\n"
         "return evaluation.top_k_accuracy(logits, labels, k)  # the helper the notebook uses",
         "you called helpers.evaluation.top_k_accuracy"),
    ],
    "nb06_stem_output_size": [
        ("return size // 4  # right only for sizes divisible by 4",
         "size // 4 is right only for sizes divisible by 4"),
        ("return (size + 2 * 3 - 7) // 2 + 1  # forgets the max-pool",
         "That is the size after the 7x7 convolution"),
        ("after_conv = (size + 2 * 3 - 7) // 2 + 1\n"
         "return (after_conv - 3) // 2 + 1  # the max-pool without its padding",
         "The max-pool has padding 1 as well"),
        ("return size / 4  # a float", "returned the float"),
        ("after_conv = (size - 7) // 2 + 1  # forgets the padding\n"
         "return (after_conv - 3) // 2 + 1",
         "You left out both paddings"),
        ("after_conv = (size - 7) // 2 + 1  # forgets the convolution's padding\n"
         "return (after_conv + 2 * 1 - 3) // 2 + 1",
         "The 7x7 convolution has padding 3"),
        ("stem = nn.Sequential(nn.Conv2d(3, 1, 7, stride=2, padding=3), nn.MaxPool2d(3, stride=2, padding=1))\n"
         "return stem(torch.zeros(1, 3, size, size)).shape[-1]  # measures instead of using the formula",
         "you called nn.Conv2d"),
    ],
    "nb06_one_cycle_lr": [
        ("w = max(1, round(total_steps * warmup)) if warmup > 0 else 0\n"
         "if step < w:\n"
         "    return peak_lr * step / w  # warm-up from 0\n"
         "return peak_lr * (total_steps - step) / (total_steps - w)",
         "The warm-up starts at peak_lr / 10"),
        ("w = max(1, round(total_steps * warmup)) if warmup > 0 else 0\n"
         "if step < w:\n"
         "    return peak_lr * (0.1 + 0.9 * step / w)\n"
         "return peak_lr * 0.5 * (1 + math.cos(math.pi * (step - w) / (total_steps - w)))  # cosine decay",
         "That is a cosine decay"),
        ("w = max(1, round(total_steps * warmup))  # a warm-up step even when warmup == 0\n"
         "if step < w:\n"
         "    return peak_lr * (0.1 + 0.9 * step / w)\n"
         "return peak_lr * (total_steps - step) / (total_steps - w)",
         "With warmup=0 there is no warm-up"),
        ("w = max(1, round(total_steps * warmup)) if warmup > 0 else 0\n"
         "if step < w:\n"
         "    return peak_lr * (0.1 + 0.9 * step / w)\n"
         "return peak_lr * (total_steps - step - 1) / (total_steps - w)  # off by one: reaches 0 a step early",
         "your decay runs one step early"),
        ("w = max(1, round(total_steps * warmup)) if warmup > 0 else 0\n"
         "if step <= w:  # the peak step counted as warm-up\n"
         "    return peak_lr * (0.1 + 0.9 * step / w)\n"
         "return peak_lr * (total_steps - step) / (total_steps - w)",
         "With warmup=0 the warm-up lasts w = 0 steps"),
        ("w = max(1, int(total_steps * warmup)) if warmup > 0 else 0  # truncates where the text says round\n"
         "if step < w:\n"
         "    return peak_lr * (0.1 + 0.9 * step / w)\n"
         "return peak_lr * (total_steps - step) / (total_steps - w)",
         "int() truncates"),
        ("w = round(total_steps * warmup)  # no warm-up step where the product rounds to 0\n"
         "if step < w:\n"
         "    return peak_lr * (0.1 + 0.9 * step / w)\n"
         "return peak_lr * (total_steps - step) / (total_steps - w)",
         "at least one warm-up step whenever warmup > 0"),
        ("from helpers.train import one_cycle\n"
         "return peak_lr * one_cycle(total_steps, warmup)(step)  # the helper the loop uses",
         "you called helpers.train.one_cycle"),
    ],
    "nb06_resume": [
        ("state = torch.load(path)  # buggy_resume, copied from the exercise\n"
         "model.load_state_dict(state[\"model\"])\n"
         "schedule.load_state_dict(state[\"schedule\"])\n"
         "torch.set_rng_state(state[\"rng\"])\n"
         "return state[\"epoch\"] + 1",
         "momentum restarted from zero"),
        ("state = torch.load(path)\n"
         "model.load_state_dict(state[\"model\"])\n"
         "optimizer.load_state_dict(state[\"optimizer\"])  # the schedule is left at its first step\n"
         "torch.set_rng_state(state[\"rng\"])\n"
         "return state[\"epoch\"] + 1",
         "schedule started over from its first step"),
        ("state = torch.load(path)\n"
         "model.load_state_dict(state[\"model\"])\n"
         "optimizer.load_state_dict(state[\"optimizer\"])\n"
         "schedule.load_state_dict(state[\"schedule\"])  # the random-number state is not restored\n"
         "return state[\"epoch\"] + 1",
         "the random-number state was not restored"),
        ("state = torch.load(path)\n"
         "model.load_state_dict(state[\"model\"])\n"
         "optimizer.load_state_dict(state[\"optimizer\"])\n"
         "schedule.load_state_dict(state[\"schedule\"])\n"
         "torch.set_rng_state(state[\"rng\"])\n"
         "return state[\"epoch\"]  # the last finished epoch, not the next one",
         "a second time"),
        ("state = torch.load(path)\n"
         "model.load_state_dict(state[\"model\"])  # neither the optimiser nor the schedule\n"
         "torch.set_rng_state(state[\"rng\"])\n"
         "return state[\"epoch\"] + 1",
         "momentum restarted from zero, and the first step used the fresh optimiser's learning rate; and the "
         "schedule was not restored"),
        ("state = torch.load(path)\n"
         "optimizer.load_state_dict(state[\"optimizer\"])  # the weights are not loaded\n"
         "schedule.load_state_dict(state[\"schedule\"])\n"
         "torch.set_rng_state(state[\"rng\"])\n"
         "return state[\"epoch\"] + 1",
         "the weights were not loaded"),
        ("state = torch.load(path)\n"
         "model.load_state_dict(state[\"model\"])\n"
         "optimizer.load_state_dict(state[\"optimizer\"])\n"
         "schedule.load_state_dict(state[\"schedule\"])\n"
         "torch.set_rng_state(state[\"rng\"])  # restores everything, but returns nothing",
         "resume returned None"),
        ("from helpers.train import resume_from\n"
         "return resume_from(path, model, optimizer, schedule, None, 4)[1]  # the helper fit uses",
         "you called helpers.train.resume_from"),
    ],
}
