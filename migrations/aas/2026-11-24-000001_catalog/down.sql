DROP TABLE IF EXISTS terraform_vm_config, products, categories;
