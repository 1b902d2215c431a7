"""`xstilts data fetch`: every set the study design needs, from its Hugging Face copy, written in
the XTREME download layout the readers already read (``sources`` says where each set comes from,
``convert`` turns hub rows into files, ``download`` runs it with a manifest)."""
