// The files charts/vaultapp/ holds as copies of the repository's own (paths from the
// repository's root): written by scripts/gen-chart.ts, compared by test/manifests/chart-files.test.ts (here, beside the tests, because test/ imports nothing from scripts/).
export const CHART_COPIES = [
  // Helm installs crds/ before the templates and never templates or upgrades them.
  { copy: 'charts/vaultapp/crds/vaultapp.yaml', source: 'crds/vaultapp.yaml' },
  // The dashboard ConfigMap's content (templates/dashboard.yaml reads it with .Files.Get).
  { copy: 'charts/vaultapp/files/vaultapp-hook-dashboard.json', source: 'metacontroller/monitoring/vaultapp-hook-dashboard.json' },
] as const;
