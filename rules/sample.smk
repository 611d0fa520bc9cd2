# placeholder: filled by the sample stage
