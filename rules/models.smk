# placeholder: filled by the models stage
