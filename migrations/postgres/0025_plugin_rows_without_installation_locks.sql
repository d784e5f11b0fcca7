-- A plugin run's KV entries, run record and log lines no longer reference their installation
-- by a foreign key. Each such insert took a FOR KEY SHARE lock on the installation's row, and
-- with the runs of one installation in flight at once (a shop's webhooks) every new lock made
-- PostgreSQL write a new multixact of all the current holders, write the lock into the row's
-- page, and made each run's read of that row resolve the multixact (`GetMultiXactIdMembers`
-- in a profile of the shopify benchmark). Deleting an installation already deletes these rows
-- itself (`store::plugin_installations::delete`); a run that commits after its installation
-- was deleted may leave rows under the deleted id, which nothing can reach (ids are never
-- reused) and the KV ones expire like any. plugin_kv_usage keeps its key: its rows are
-- updated in place, which checks nothing.
ALTER TABLE plugin_kv DROP CONSTRAINT plugin_kv_installation_id_fkey;
ALTER TABLE plugin_runs DROP CONSTRAINT plugin_runs_installation_id_fkey;
ALTER TABLE plugin_logs DROP CONSTRAINT plugin_logs_installation_id_fkey;
