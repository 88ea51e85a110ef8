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
         "compared with torchvision's ToTensor + Normalize: values differ from the reference"),
        ("return torch.from_numpy(np.asarray(image)).permute(2, 0, 1).float() / 255  # not normalised",
         "compared with torchvision's ToTensor + Normalize: values differ from the reference"),
    ],
    "nb00_hflip": [
        ("return batch.flip(2)  # upside down", "turned the images upside down"),
        ("return batch", "compared with torchvision's horizontal_flip: values differ from the reference"),
        ("import torchvision.transforms.v2.functional as TF\n"
         "return TF.horizontal_flip(batch)  # torchvision does it",
         "you called torchvision.transforms.v2.functional.horizontal_flip"),
        ("from torchvision.transforms.functional import hflip as flip_lr\n"
         "return flip_lr(batch)  # torchvision does it, imported under another name",
         "you called torchvision.transforms.functional.hflip"),
    ],
}
