# placeholder: filled by the corpus stage
