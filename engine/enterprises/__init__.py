"""The target-enterprise database (招引企业数据库) and turning an entry into a lead."""
