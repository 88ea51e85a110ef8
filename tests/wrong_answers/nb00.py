"""Wrong answers for 00_start_here."""

WRONG = {
    "nb00_class_histogram": [
        ("return np.bincount(np.asarray(labels))  # forgets classes that never occur",
         "including classes that do not occur"),
        ("return np.unique(labels, return_counts=True)[1]", "including classes that do not occur"),
    ],
    "nb00_to_input": [
        ("x = torch.from_numpy(np.asarray(image)).permute(2, 0, 1).float()  # forgot / 255\n"
         "return (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)",
         "not scaled to 0..1 before normalising"),
        ("return torch.from_numpy(np.asarray(image)).permute(2, 0, 1).float() / 255  # not normalised",
         "scaled to 0..1 but not normalised"),
        ("x = torch.from_numpy(np.asarray(image)).float().reshape(3, 32, 32) / 255  # reshape, not permute\n"
         "return (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)",
         "reshape (or view) regroups the values"),
        ("x = torch.from_numpy(np.asarray(image)).permute(2, 1, 0).float() / 255  # (C, W, H): height and width swap\n"
         "return (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)",
         "the height and width are swapped"),
        ("from torchvision import transforms\n"
         "return transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])(image)  # named in the text",
         "you called torchvision.transforms.transforms.ToTensor"),
        ("from helpers.data import normalize\n"
         "return normalize(torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None])[0]  # the notebook's helper",
         "you called helpers.data.normalize"),
    ],
    "nb00_hflip": [
        ("return batch.flip(2)  # upside down", "turned the images upside down"),
        ("return batch", "returned the batch unchanged"),
        ("return batch.flip(1)  # the width axis of an (H, W, C) image, but the channels here",
         "reversed the colour channels"),
        ("import torchvision.transforms.v2.functional as TF\n"
         "return TF.horizontal_flip(batch)  # torchvision does it",
         "you called torchvision.transforms.v2.functional.horizontal_flip"),
        ("from torchvision.transforms.functional import hflip as flip_lr\n"
         "return flip_lr(batch)  # torchvision does it, imported under another name",
         "you called torchvision.transforms.functional.hflip"),
    ],
    "nb00_channel_stats": [
        ("pixels = images.reshape(-1, 3) / 255.0  # cell 9's lines: one array of equal-size images only\n"
         "return pixels.mean(0), pixels.std(0)",
         "do not stack into one (N, H, W, 3) array"),
        ("pixels = np.concatenate([np.asarray(image).reshape(-1, 3) for image in images]).astype(np.float64)\n"
         "return pixels.mean(0), pixels.std(0)  # forgot / 255",
         "not scaled to 0..1"),
        ("x = np.asarray(images) / 255.0\n"
         "return x.mean(0), x.std(0)  # over the images only: one value per pixel position",
         "one value per pixel position"),
        ("x = np.asarray(images) / 255.0\n"
         "return x.mean(axis=(1, 2)), x.std(axis=(1, 2))  # per image",
         "one value per image"),
        ("x = np.asarray(images) / 255.0\n"
         "return x.reshape(3, -1).mean(1), x.reshape(3, -1).std(1)  # the channels are the last axis",
         "reshape(3, -1) cuts the array into three blocks"),
        ("per_image = [np.asarray(image).reshape(-1, 3) / 255.0 for image in images]\n"
         "return np.concatenate(per_image).mean(0), np.mean([p.std(0) for p in per_image], axis=0)",
         "the average of the images' own stds"),
        ("x = np.asarray(images) / 255.0\n"
         "return x.mean(axis=(0, 1, 2)), x.std(axis=0).mean(axis=(0, 1))  # std across images, per pixel",
         "the average of the per-pixel stds"),
        ("per_image = [np.asarray(image).reshape(-1, 3) / 255.0 for image in images]\n"
         "return np.mean([p.mean(0) for p in per_image], axis=0), np.concatenate(per_image).std(0)",
         "the average of the images' own means"),
        ("pixels = np.concatenate([np.asarray(image).reshape(-1, 3) for image in images]) / 255.0\n"
         "return pixels.mean(0), pixels.std(0, ddof=1)  # the sample std",
         "ddof=1"),
        ("pixels = torch.from_numpy(np.concatenate([np.asarray(image).reshape(-1, 3) for image in images])) / 255.0\n"
         "return pixels.mean(0), pixels.std(0)  # torch.std divides by count - 1 by default",
         "ddof=1"),
        ("pixels = np.concatenate([np.asarray(image).reshape(-1, 3) for image in images]) / 255.0\n"
         "return pixels.std(0), pixels.mean(0)  # swapped",
         "mean and std are swapped"),
        ("return np.array(MEAN), np.array(STD)  # CIFAR-10's constants, whatever the data",
         "published constants MEAN and STD"),
    ],
}
