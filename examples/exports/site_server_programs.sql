-- patchdeck export kit: Windows Server Update Services entries of Add/Remove Programs, for
-- every computer with hardware inventory (DisplayName0 NULL when it has none): the WSUS 3.0
-- Administration Console on the site server. A site server with no row at all is "not
-- inventoried" (UNKNOWN), one with a NULL row "console not installed".
-- Read by the probe `wsus` (config keys site_server_programs_csv and site_server).
-- Columns: Name0, DisplayName0, Version0.
SET NOCOUNT ON;
SELECT sys.Name0,
       arp.DisplayName0,
       arp.Version0
FROM v_R_System AS sys
JOIN (SELECT DISTINCT ResourceID FROM v_Add_Remove_Programs) AS inv
  ON inv.ResourceID = sys.ResourceID
LEFT JOIN v_Add_Remove_Programs AS arp
  ON arp.ResourceID = sys.ResourceID
 AND arp.DisplayName0 LIKE 'Windows Server Update Services%';
