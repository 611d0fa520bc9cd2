# placeholder: filled by the seeds stage
