-- CRM speed: the value indexes become partial. A value is a number or a text (dates are both),
-- so each row is indexed once, not twice; queries on them always say `IS NOT NULL`.

CREATE INDEX customer_field_values_num_set ON customer_field_values (field_key, tenant_id, value_num)
    WHERE value_num IS NOT NULL;
CREATE INDEX customer_field_values_text_set ON customer_field_values (field_key, tenant_id, value_text)
    WHERE value_text IS NOT NULL;
DROP INDEX customer_field_values_num;
DROP INDEX customer_field_values_text;
ALTER INDEX customer_field_values_num_set RENAME TO customer_field_values_num;
ALTER INDEX customer_field_values_text_set RENAME TO customer_field_values_text;
