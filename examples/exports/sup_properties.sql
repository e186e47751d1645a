-- patchdeck export kit: the software update point's port settings as ConfigMgr stores them in
-- the site control file (the SUP role's properties): WSUSIISPort (HTTP), WSUSIISSSLPort
-- (HTTPS) and SSLWSUS (1 = "Enable SSL communications to the WSUS server"). The site server
-- reaches WSUS with these; "Troubleshooting Software Updates Synchronization" (9647358a) says
-- they must be the WSUS web site's ports.
-- ConfigMgr 2007's database schema is not published (a4d1ffe0): the table and property names
-- are those of the site control file's system-resource-use properties as later versions and
-- their tools read them, not verified against a 2007 database. A property missing from the
-- export is reported by name, never guessed.
-- Read by the probe `wsus` (config keys sup_properties_csv and sup_server).
-- Columns: SiteCode, ServerName, PropertyName, Value.
SET NOCOUNT ON;
SELECT sr.SiteCode,
       sr.ServerName,
       prop.Name AS PropertyName,
       prop.Value
FROM SC_SysResUse AS sr
JOIN SC_SysResUse_Property AS prop
  ON prop.SysResUseID = sr.ID
WHERE sr.RoleName = 'SMS Software Update Point'
  AND prop.Name IN ('WSUSIISPort', 'WSUSIISSSLPort', 'SSLWSUS');
