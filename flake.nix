{
  description = "nixca: internal PKI for a Nix binary-cache fleet (root ceremony, ACME issuer, Nix signing keys, NixOS modules)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      # The fleet's hosts and Graviton runners.
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (
        _system: pkgs: rec {
          nixca = pkgs.callPackage ./package.nix { };
          default = nixca;
        }
      );

      apps = forAllSystems (
        system: _pkgs: {
          default = {
            type = "app";
            program = "${self.packages.${system}.nixca}/bin/nixca";
            meta.description = "the nixca CLI";
          };
        }
      );

      # pkgs.nixca, built with the nixpkgs it is applied to.
      overlays.default = final: _prev: { nixca = final.callPackage ./package.nix { }; };

      # The issuer service (services.nixca), its package defaulting to this flake's.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix-module/nixca.nix ];
          services.nixca.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.nixca;
        };
      nixosModules.nixca = self.nixosModules.default;
    };
}
