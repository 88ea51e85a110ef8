# %% [markdown]
# # 07 · What the shortcuts do, measured on trained networks
#
# Notebook 03 showed *that* residual networks train where plain ones degrade. This notebook asks *what the
# shortcuts do* in a trained network, and answers with measurements you can rerun in minutes, on
# networks this project trained on a CPU and ships in `results/pretrained/`: plain-20, plain-56, ResNet-20
# and ResNet-56 of the degradation experiment (all 50,000 CIFAR-10 training images, 10 epochs).
#
# **In this notebook you will**
# - load the four trained networks and check that they score what their records say;
# - delete blocks of the trained ResNet-56 and plain-56, one at a time and k at a time, and see which
#   network takes it better (Veit et al., 2016, "Residual networks behave like ensembles of relatively
#   shallow networks");
# - count the 2^27 paths through ResNet-56 by length, and measure how much gradient each length carries;
# - draw slices of the training loss around both trained networks along filter-normalised random
#   directions, and measure their sharpness with the top Hessian eigenvalue (Li et al., 2018, "Visualizing
#   the loss landscape of neural nets");
# - in the exercises: delete blocks yourself, filter-normalise a direction, find a Hessian's top eigenvalue
#   by power iteration, and count the paths of a network that mixes blocks with and without shortcuts.
#
# **Run time:** quick mode (`RESNET_QUICK=1`, as CI runs it): 77 s. With nothing set on a CPU (`make lab`) this
# notebook runs full size, since it trains nothing for long: 424 s (7 min). Both measured with
# `python -m bench.notebooks` on a 2-core AMD EPYC (Zen 3, a CPU without bf16 units; everything here is fp32
# inference, so CPUs with them gain little), 2026-12-05, nothing else running (a second busy process doubled
# the full-size time). On a
# GPU, full size takes seconds per section. The saved studies in sections 2 and 4 were computed once by the
# command line (36 and 29 minutes on the same CPU); here they are read from `results/`.

# %% tags=["setup"]
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn  # noqa: F401 (an exercise's code may use it)

from helpers import pretrained
from helpers.degradation import QUICK, run_experiment
from helpers.paths import result_not_found
from helpers.results import load_result, made_by, results_dir
from helpers.runtime import budget, describe, seed_everything
from helpers.shortcuts import (cifar10_tensors, gradient_by_path_length, landscape,
                               lesion_study, path_counts, plot_landscapes, plot_lesions)

# %% tags=["setup"]
SEED = 0
seed_everything(SEED)
device = torch.device("cpu")  # the shipped networks are small: everything here is CPU inference
torch.set_num_threads(budget(quick=1, full=torch.get_num_threads()))
print(describe())
LESION_IMAGES, LESION_DRAWS = budget(quick=(200, 1), full=(1_000, 3))  # test images; random sets per k
MAX_K = 10  # delete up to this many random blocks
PATH_IMAGES, PATH_SAMPLES = budget(quick=(8, 2), full=(64, 6))  # images; random paths per length
GRID_STEPS, GRID_IMAGES, HESSIAN_ITERATIONS = budget(quick=(5, 64, 3), full=(9, 256, 10))
RETRAIN = budget(quick=dict(QUICK, train_subset=1_000, epochs=1), full=QUICK)
print(f"lesions on {LESION_IMAGES:,} test images ({LESION_DRAWS} random sets per k); gradient by path length on "
      f"{PATH_IMAGES} images ({PATH_SAMPLES} paths per length); loss slices on a {GRID_STEPS}x{GRID_STEPS} grid, "
      f"{GRID_IMAGES} training images, {HESSIAN_ITERATIONS} power iterations")

# %% [markdown]
# ## 1 · Four trained networks
#
# `helpers.pretrained.load(name)` returns a shipped network built with `helpers.models.cifar_resnet`, in eval
# mode, on the CPU. Each weights file (fp16, which halves the size) has a record beside it: how the network
# was trained (command, date, CPU, torch, git commit), its final errors, and the file's SHA-256, which
# `load` checks, so a file that was changed after training is refused.

# %% tags=["setup"]
NAMES = {"plain20": "plain-20", "plain56": "plain-56", "resnet20": "ResNet-20", "resnet56": "ResNet-56"}

# %%
nets = {name: pretrained.load(name) for name in NAMES}
for name, model in nets.items():
    record = pretrained.record(name)
    print(f"{record['net']:>9}: {record['params']:,} parameters, {record['epochs']} epochs, training error "
          f"{record['train_error']:.1%}, test error {record['test_error']:.1%} on {record['test_images']:,} test images")
first = pretrained.record("resnet56")
print(f"\ntrained with `{first['command']}`\non {first['device']} ({first['cpu']}), torch {first['torch']}, "
      f"{first['date'][:10]}, commit {str(first['git_commit'])[:10]}")

# %% [markdown]
# Do they score what their records say? Evaluate them on test images (a class-balanced subset in this run;
# the records were measured on all 10,000, so a subset's error differs by sampling noise, about
# sqrt(p(1-p)/n)):

# %%
test_x, test_y = cifar10_tensors("test", LESION_IMAGES if LESION_IMAGES < 10_000 else None, seed=SEED)
with torch.no_grad():
    errors = {name: (model(test_x).argmax(1) != test_y).float().mean().item() for name, model in nets.items()}
for name, error in errors.items():
    recorded = pretrained.record(name)["test_error"]
    noise = math.sqrt(recorded * (1 - recorded) / len(test_y))
    print(f"{NAMES[name]:>9}: test error {error:.1%} on {len(test_y):,} images, record {recorded:.1%}: within 3 "
          f"standard errors ({3 * noise:.1%}): {abs(error - recorded) <= 3 * noise}")

# %% [markdown]
# The shipped networks took 11 hours of CPU time to train (summed over the four, on a 2-core AMD
# EPYC Zen 3 without bf16 units). To show that the code that trained them runs, here is
# the same recipe (`helpers.degradation.run_experiment`) for plain-20 and ResNet-20 on a few training
# images; its numbers say nothing about the shipped networks, only that the pipeline works end to end.

# %%
small = run_experiment(**RETRAIN, seed=SEED, nets=("plain-20", "ResNet-20"))
for name, run in small["runs"].items():
    print(f"{name:>9}: {run['epoch'][-1]} epoch(s) on {small['train_images']:,} images in {run['seconds']:.0f} s: "
          f"training error {run['train_error'][-1]:.1%}, test error {run['test_error'][-1]:.1%}")
print(f"the shipped networks: `{first['command']}`")

# %% [markdown] id=cell-predict-lesions
# ## 2 · Delete a block (Veit et al., 2016)
#
# A residual block computes `relu(F(x) + shortcut(x))`. *Deleting* it means setting its residual branch
# `F` to zero: the block then outputs `relu(shortcut(x))`, which is `x` itself for an identity shortcut.
# The rest of the trained network is left as it is, and we measure its test error. A plain net's
# block has no shortcut: deleting it passes `x` on unchanged, which is possible only where the block keeps
# the shape (not in the two blocks that halve the resolution and double the channels, marked *downsampling*).
#
# **Predict first.** The trained ResNet-56 has 27 blocks, and so does plain-56. Delete one block in the
# middle of each: what happens to each network's test error, a few points or a collapse to chance (90%)?
# Does it matter which block? And what happens to ResNet-56 when 5 or 10 random blocks are gone?

# %% id=cell-lesions
start = time.perf_counter()
studies = {NAMES[name]: lesion_study(nets[name], test_x, test_y, max_k=MAX_K, draws=LESION_DRAWS, seed=SEED)
           for name in ("resnet56", "plain56")}
fig = plot_lesions(studies, title=f"Deleting blocks of the trained nets ({len(test_y):,} test images, this run)")
plt.show()
print(f"{time.perf_counter() - start:.0f} s")

# %% [markdown]
# What the plot shows, read from its numbers:

# %%
def lesion_summary(study, label):
    """Median and worst single deletion (blocks that keep the shape), and the mean error per k."""
    singles = [e for name, e in study["single"].items() if e is not None and name not in study["downsampling"]]
    down = {name: e for name, e in study["single"].items() if e is not None and name in study["downsampling"]}
    intact = study["intact_error"]
    print(f"{label}: intact {intact:.1%}; one block deleted (of {len(singles)} that keep the shape): median "
          f"{np.median(singles):.1%}, worst {max(singles):.1%}"
          + ("; downsampling blocks: " + ", ".join(f"{n} {e:.1%}" for n, e in down.items()) if down else ""))
    means = {int(k): float(np.mean(v["errors"])) for k, v in study["random"].items()}
    return intact, float(np.median(singles)), means


r_intact, r_median, r_means = lesion_summary(studies["ResNet-56"], "ResNet-56")
p_intact, p_median, p_means = lesion_summary(studies["plain-56"], "plain-56")
print("ResNet-56, mean error with k random blocks deleted: "
      + ", ".join(f"k={k}: {e:.1%}" for k, e in r_means.items()))
rises = [b - a for a, b in zip([r_intact, *r_means.values()], r_means.values())]
print(f"\nResNet-56 loses {100 * (r_median - r_intact):.1f} points with one typical block deleted; plain-56 loses "
      f"{100 * (p_median - p_intact):.1f} points.")
print(f"plain-56 with one block deleted: {p_median:.1%}, "
      + ("near chance (above 80%)." if p_median > 0.8 else "not near chance (80% or less)."))
print(f"ResNet-56 with one block deleted: {r_median:.1%}, "
      + ("far from chance (below 50%)." if r_median < 0.5 else "not far from chance (50% or more)."))
print("ResNet-56's mean error with k blocks deleted "
      + ("rises with every extra block" if all(r > 0 for r in rises) else "does not rise at every step")
      + f" in this run (steps from {100 * min(rises):+.1f} to {100 * max(rises):+.1f} points; "
        f"{LESION_DRAWS} random set(s) per k).")
print("\nA plain net is one long chain: every layer's output is the only input of the next, so removing one "
      "breaks the chain. A residual net's blocks each add a correction to a signal that the shortcuts carry "
      "past them, so removing one removes one correction.")

# %% [markdown] id=cell-lesions-saved-md
# ### The real-scale measurement
#
# The same study on all 10,000 test images, with more random draws, computed once by the command line on
# the shipped networks and saved with how it was made:

# %% id=cell-lesions-saved
saved = load_result("lesions_cpu")
if saved is None:
    print(f"No saved lesion study: {result_not_found('lesions_cpu.json', results_dir())}. "
          "`python -m helpers.experiments lesions --save lesions_cpu` makes one.")
else:
    saved_studies = {NAMES[name]: study for name, study in saved["data"]["nets"].items()}
    plot_lesions(saved_studies, title=f"saved: {made_by(saved)}, {saved['data']['images']:,} test images")
    plt.show()
    for name, study in saved_studies.items():
        lesion_summary(study, f"{name} (saved)")

# %% [markdown] id=cell-predict-paths
# ## 3 · A network of 2^27 paths
#
# Write a residual block as `x + f(x)` (ignoring the ReLU after the sum). Three blocks in a row give
# `(1 + f3)(1 + f2)(1 + f1) x`: multiplied out, a sum of 2^3 = 8 terms, one for each way of choosing, at
# every block, either the branch `f` or the shortcut `1`. Veit et al. call these terms *paths*; a path's
# *length* is the number of branches it passes through. Through ResNet-56's 27 blocks there are 2^27, about
# 134 million, paths, and C(27, k) of them have length k. A plain net has one path, through every layer.
#
# **Predict first.** Most paths have a length near 27 / 2. Does most of the gradient that reaches the input
# come through those paths, through the shortest ones, or through the one longest path?

# %% id=cell-path-counts
counts = path_counts(27)
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar(range(28), counts, color="C0")
ax.set_xlabel("path length k (residual branches passed)")
ax.set_ylabel("number of paths, C(27, k)")
ax.set_title(f"ResNet-56: {sum(counts):,} paths")
plt.show()
middle = sum(counts[9:19]) / sum(counts)
print(f"{sum(counts):,} paths; lengths 9 to 18 hold {middle:.1%} of them; the most common length is "
      f"{int(np.argmax(counts))} ({max(counts):,} paths)")

# %% [markdown]
# To measure the gradient along the paths of one length, Veit et al. sample paths: at every block the
# backward pass goes through the branch or through the shortcut, never both. `gradient_by_path_length`
# does that with `Routed` blocks, which compute the same forward values as the trained network (so the
# ReLU masks and batch-norm statistics are the real ones) but cut the backward pass of one route with
# `detach()`. For each length k it averages the input gradient's norm over random paths of that length, and
# multiplying by C(27, k) estimates what all paths of length k carry together (an upper bound: gradients of
# different paths can point in different directions).

# %% id=cell-paths
start = time.perf_counter()
path_x, path_y = test_x[:PATH_IMAGES], test_y[:PATH_IMAGES]
per_path = gradient_by_path_length(nets["resnet56"], path_x, path_y, samples=PATH_SAMPLES, seed=SEED)
total = [c * g for c, g in zip(counts, per_path)]
share = [t / sum(total) for t in total]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
axes[0].semilogy(range(28), per_path, "o-")
axes[0].set_xlabel("path length k")
axes[0].set_ylabel("input-gradient norm of one path")
axes[0].set_title("one path of length k")
axes[1].bar(range(28), share, color="C1")
axes[1].set_xlabel("path length k")
axes[1].set_ylabel("share of the total")
axes[1].set_title("all C(27, k) paths of length k together")
fig.suptitle(f"ResNet-56, trained: gradient by path length ({PATH_IMAGES} test images, {PATH_SAMPLES} paths per length)",
             fontsize=10)
fig.tight_layout()
plt.show()
peak = int(np.argmax(share))
half = int(np.searchsorted(np.cumsum(share), 0.5))  # paths up to this length carry half of the gradient
typical = int(np.searchsorted(np.cumsum(counts) / sum(counts), 0.5))  # the median length of a path
print(f"{time.perf_counter() - start:.0f} s")
rises = [k for k in range(1, 28) if per_path[k] > per_path[k - 1]]  # lengths where one path carries more than k - 1
print(f"one path's gradient from length 0 to length 27: from {per_path[0]:.3g} to {per_path[-1]:.3g} "
      f"({per_path[0] / per_path[-1]:.3g}x less); "
      + ("it falls at every added block" if not rises else f"it rises from one length to the next at {rises}"))
print(f"all paths together: the most gradient comes through length {peak}; paths up to length {half} carry half "
      f"of it; the median path length is {typical}")
print("half of the gradient comes through paths " + ("shorter than" if half < typical else "at least as long as")
      + " the typical path")

# %% [markdown] id=cell-predict-landscape
# ## 4 · Loss landscapes (Li et al., 2018)
#
# A trained network sits at a point w in weight space. Pick two random directions d1, d2 and draw the
# training loss at w + a d1 + b d2 over a grid of (a, b). Random directions need a scale: the weights of
# a network with batch norm can be rescaled filter by filter without changing what it computes, so Li et
# al. *filter-normalise* them: each filter of d gets the norm of the same filter of w (and biases and
# batch-norm parameters get zero). Batch norm runs in eval mode, so the loss is a function of the weights
# alone, and every network gets the same random draw. One number for the sharpness: the top eigenvalue of
# the Hessian of the loss, by power iteration on Hessian-vector products (Exercise 3 writes it).
#
# **Predict first.** Which of the trained ResNet-56 and plain-56 sits in the wider, flatter valley, and which
# has the larger top Hessian eigenvalue?

# %% id=cell-landscape
start = time.perf_counter()
train_x, train_y = cifar10_tensors("train", GRID_IMAGES, seed=SEED)
landscapes = {NAMES[name]: landscape(nets[name], train_x, train_y, steps=GRID_STEPS, span=1.0, seed=SEED,
                                     hessian_iterations=HESSIAN_ITERATIONS) for name in ("resnet56", "plain56")}
plot_landscapes(landscapes, title=f"{GRID_STEPS}x{GRID_STEPS} grid, {GRID_IMAGES} training images (this run)")
plt.show()
print(f"{time.perf_counter() - start:.0f} s")

# %%
def landscape_summary(landscapes):
    """The loss at the centre, its rise at the ends of the 1-D slice, the top Hessian eigenvalue, and whether
    the two measures of sharpness agree. Returns (the net with the larger eigenvalue, the one whose loss rises more)."""
    rises = {}
    for name, ls in landscapes.items():
        centre, ends = ls["loss_1d"][len(ls["alphas"]) // 2], (ls["loss_1d"][0], ls["loss_1d"][-1])
        rises[name] = sum(ends) / 2 - centre
        print(f"{name:>9}: loss {centre:.3f} at the trained weights, {min(ends):.3g} to {max(ends):.3g} one "
              f"filter-norm away (a rise of {rises[name]:.3g} on average); top Hessian eigenvalue {ls['top_eigenvalue']:.3g}")
    (a, la), (b, lb) = landscapes.items()
    ratio = lb["top_eigenvalue"] / la["top_eigenvalue"]
    sharper = b if ratio > 1 else a
    steeper = max(rises, key=rises.get)
    print(f"the larger top Hessian eigenvalue (the sharper minimum, in its steepest direction): {sharper}, "
          f"{max(ratio, 1 / ratio):.3g}x the other's")
    print(f"the larger rise of the loss one filter-norm away along the slice: {steeper}")
    if sharper == steeper:
        print("The two measures agree.")
    else:
        print("The two measures disagree. The eigenvalue is the curvature at the minimum in the one steepest "
              "direction; the slice is the loss along a random direction, far from it. Li et al. compare nets "
              "trained to a training loss near zero; these stopped after 10 epochs at "
              + ", ".join(f"{n} {ls['loss_1d'][len(ls['alphas']) // 2]:.2f}" for n, ls in landscapes.items())
              + ", so their slices start at different heights.")
    return sharper, steeper


sharper, steeper = landscape_summary(landscapes)

# %% [markdown] id=cell-landscape-saved-md
# ### The real-scale slices
#
# A finer grid on more training images, computed once by the command line on the shipped networks:

# %% id=cell-landscape-saved
saved = load_result("landscape_cpu")
if saved is None:
    print(f"No saved landscape: {result_not_found('landscape_cpu.json', results_dir())}. "
          "`python -m helpers.experiments landscape --save landscape_cpu` makes one (see its --help for the grid).")
else:
    saved_landscapes = {NAMES[name]: ls for name, ls in saved["data"]["nets"].items()}
    steps = len(next(iter(saved_landscapes.values()))["alphas"])
    plot_landscapes(saved_landscapes, title=f"saved: {made_by(saved)}, {steps}x{steps} grid, "
                                            f"{saved['data']['images']:,} training images")
    plt.show()
    landscape_summary(saved_landscapes)

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell to complete (your code goes between its two `###` marker comments) and a check
# cell after it that tests your code on several cases and says what is wrong, or prints a ✔.
#
# **Exercise 1 · Delete blocks yourself.** Write `lesioned_logits(model, images, deleted)`: the logits of a
# `helpers.models.ResNet` on `images` with every block named in `deleted` (names like `"layer2.0"`, as in
# the state dict) deleted, as in section 2: a deleted block outputs `relu(x)` for an identity shortcut and
# `relu(block.downsample(x))` otherwise. Walk the network yourself: the stem
# (`model.conv1`, `model.bn1`, `model.relu`, `model.maxpool`), the stages named in `model.stage_names`
# (each an `nn.Sequential` of blocks), then `model.avgpool`, a flatten and `model.fc`. Leave the model as
# you found it. The check also runs a ResNet-18 with projection shortcuts (a 1x1 convolution with batch
# norm) and a real max-pool stem, which this notebook does not show; `helpers.shortcuts`' lesion functions
# are refused.

# %% [solution] id=nb07_lesioned_logits
def lesioned_logits(model, images, deleted):
    """model(images) with the blocks named in `deleted` reduced to relu(shortcut(x))."""
    ### BEGIN SOLUTION
    h = model.maxpool(model.relu(model.bn1(model.conv1(images))))
    for stage_name in model.stage_names:
        for i, block in enumerate(getattr(model, stage_name)):
            if f"{stage_name}.{i}" in deleted:
                h = F.relu(h if block.downsample is None else block.downsample(h))
            else:
                h = block(h)
    return model.fc(torch.flatten(model.avgpool(h), 1))
    ### END SOLUTION

# %% [check] id=nb07_lesioned_logits
from helpers.checks.nb07 import check_lesioned_logits

check_lesioned_logits(lesioned_logits)

# %% [markdown]
# **Exercise 2 · Filter-normalise a direction.** Write `filter_normalise(direction, weights)`: given two
# lists of tensors of the same shapes (a random direction and the weights, one tensor per parameter, in
# order), return the filter-normalised direction of section 4. For a tensor with more than one dimension,
# each filter is a slice along dimension 0 (an output channel of a convolution, a row of a linear layer):
# rescale it to the norm of the same slice of the weights. Every tensor of one dimension (biases, batch
# norm) becomes zeros. `torch.linalg.vector_norm(t, dim=..., keepdim=True)` takes the norm over several
# dimensions at once. The check compares with `helpers.shortcuts.filter_normalised_direction` (refused here)
# on a ResNet, a ResNet of bottleneck blocks and a two-layer perceptron.

# %% [solution] id=nb07_filter_normalise
def filter_normalise(direction, weights):
    """Each filter of each direction tensor rescaled to its weights' filter norm; 1-D tensors zeroed."""
    ### BEGIN SOLUTION
    norm = torch.linalg.vector_norm
    out = []
    for d, w in zip(direction, weights):
        if w.dim() <= 1:
            out.append(torch.zeros_like(w))
            continue
        dims = tuple(range(1, w.dim()))
        out.append(d * norm(w, dim=dims, keepdim=True) / norm(d, dim=dims, keepdim=True))
    return out
    ### END SOLUTION

# %% [check] id=nb07_filter_normalise
from helpers.checks.nb07 import check_filter_normalise

check_filter_normalise(filter_normalise)

# %% [markdown]
# **Exercise 3 · The top eigenvalue by power iteration.** A network's Hessian has one row per parameter
# (850,000 for ResNet-56): it is never formed. What can be computed is a Hessian-vector product `H v`, by a
# second backward pass. Write `top_eigenvalue(hvp, dim, iterations, seed)`: start from a random unit vector
# of `dim` numbers (float64, drawn from `torch.Generator().manual_seed(seed)`), repeat `iterations` times
# "multiply by H (`hvp(v)`), normalise", and return the eigenvalue of largest magnitude as a Python float:
# the Rayleigh quotient `v . Hv` of the last unit vector, which keeps the eigenvalue's sign. Call `hvp`
# about once per iteration. The check runs it on matrices whose eigenvalues it knows, one of them with a
# negative dominant eigenvalue, and on the Hessian of a small network's loss; eigenvalue solvers
# (`torch.linalg.eigvalsh` and friends) and `helpers.shortcuts.top_hessian_eigenvalue` are refused.

# %% [solution] id=nb07_top_eigenvalue
def top_eigenvalue(hvp, dim, iterations=100, seed=0):
    """The eigenvalue of largest magnitude of the symmetric matrix behind hvp, by power iteration."""
    ### BEGIN SOLUTION
    v = torch.randn(dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    v = v / v.norm()
    value = 0.0
    for _ in range(iterations):
        hv = hvp(v).double()
        value = (v @ hv).item()
        v = hv / hv.norm()
    return value
    ### END SOLUTION

# %% [check] id=nb07_top_eigenvalue
from helpers.checks.nb07 import check_top_eigenvalue

check_top_eigenvalue(top_eigenvalue)

# %% [markdown]
# **Exercise 4 · Paths through a mixed network (transfer).** Section 3 counted the paths of a network whose
# blocks all have shortcuts. Now take a network that mixes residual blocks with plain layers that have no
# shortcut (as some architectures do, and as a plain net does throughout). Write
# `path_length_counts(has_shortcut)`: `has_shortcut` is a list of booleans, one per block in order (`True`:
# a residual block, passed through its branch or its shortcut; `False`: a layer with no shortcut, which every
# path passes through). Return a list of `len(has_shortcut) + 1` integers: entry k is the number of paths
# that pass through exactly k branches or layers. Predict two cases on paper before you run the check:
# `[False] * 5` and `[True, False, True]`. `helpers.shortcuts.path_counts` is refused; `math.comb` is fine.

# %% [solution] id=nb07_path_length_counts
def path_length_counts(has_shortcut):
    """counts[k] = number of paths through exactly k branches (residual blocks) or layers (plain blocks)."""
    ### BEGIN SOLUTION
    plain = has_shortcut.count(False)
    residual = len(has_shortcut) - plain
    return [math.comb(residual, k - plain) if plain <= k <= plain + residual else 0
            for k in range(len(has_shortcut) + 1)]
    ### END SOLUTION

# %% [check] id=nb07_path_length_counts
from helpers.checks.nb07 import check_path_length_counts

check_path_length_counts(path_length_counts)

# %% [markdown]
# ## What to take away
#
# Each line below is read from this run's numbers (sections 2 to 4), so compare it with your predictions:

# %%
print(f"- Deleting one typical block: ResNet-56 {r_intact:.1%} -> {r_median:.1%} test error, plain-56 "
      f"{p_intact:.1%} -> {p_median:.1%} (chance: 90%). "
      + ("The residual net tolerates it and the plain net does not, as Veit et al. found."
         if r_median < 0.5 < 0.8 < p_median else "This run does not show Veit et al.'s contrast clearly."))
print(f"- Paths: half of the gradient that reaches the input comes through paths of length {half} or less, "
      f"{'shorter' if half < typical else 'not shorter'} than the typical path ({typical} blocks)"
      + (": a deep residual net trains partly like an ensemble of shallower ones." if half < typical else "."))
(a, la), (b, lb) = landscapes.items()
print(f"- Sharpness: {sharper} has the larger top Hessian eigenvalue ({la['top_eigenvalue']:.3g} vs "
      f"{lb['top_eigenvalue']:.3g} for {a} vs {b}); the loss of {steeper} rises more one filter-norm away"
      + (", so the two measures agree in this run." if sharper == steeper else
         ": the two measures disagree in this run (section 4 says why they can)."))
print("- To train your own networks: the command printed in section 1 (hours on a 2-core CPU), then "
      "`python -m helpers.pretrained` into a results folder of your own (RESNET_RESULTS_DIR).")
