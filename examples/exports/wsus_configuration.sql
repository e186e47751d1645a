-- patchdeck export kit: where the software update point's WSUS server synchronises from, read
-- from the WSUS database (SUSDB on the SUP's SQL Server), not from the site database.
-- "Verifying WSUS Server Settings" (learn.microsoft.com/.../cc708545(v=ws.10)) documents both
-- columns: tbConfigurationA.SyncToMu, the update source (0 = an upstream WSUS server,
-- 1 = Microsoft Update), and tbConfigurationA.UpstreamServerName, the upstream server's name
-- when one is the source. The same page says the registry value SqlServerName under
-- HKLM\SOFTWARE\Microsoft\Update Services\Server\Setup names the SQL Server holding SUSDB.
-- "Troubleshooting Software Updates Synchronization" (9647358a): the central site's active
-- SUP should synchronise with Microsoft Update; ConfigMgr sets this when the SUP is created
-- but does not reset it if it is changed in the WSUS Administration console.
-- Read by the probe `wsus` (config keys wsus_configuration_csv and sync_from).
-- Columns: SyncToMu, UpstreamServerName.
SET NOCOUNT ON;
SELECT cfg.SyncToMu,
       cfg.UpstreamServerName
FROM dbo.tbConfigurationA AS cfg;
