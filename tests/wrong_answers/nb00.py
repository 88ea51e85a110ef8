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
}
