import json,math,sys
f=json.load(open(sys.argv[1]))['layers']
p=json.load(open(sys.argv[3] if len(sys.argv)>3 else 'Docs/results/pytorch-layers.json'))['layers']
passes=sys.argv[2].split(',') if len(sys.argv)>2 else ['forward','backward-data','backward-filter']
best={}
for r in f:
    if r['engine'] in ('openblas','dispatch'):
        k=(r['layer'],r['pass'],r['batch'],r['threads'])
        if k not in best or r['gflops']>best[k][0]: best[k]=(r['gflops'],r['engine'])
oth={(r['layer'],r['pass'],r['batch'],r['threads'],r['engine']):r['gflops'] for r in p}
for ps in passes:
  eng = 'onnxruntime' if ps=='forward' else 'pytorch'
  for th in (1,2):
    for b in (1,8):
      rows=[]
      for k,(g,e) in best.items():
        if k[1]==ps and k[2]==b and k[3]==th:
          o=oth.get(k+(eng,))
          if o: rows.append((g/o,k[0],g,o,e))
      if not rows: continue
      rows.sort()
      print("%-16s T%d b%d vs %-11s geomean %.3f  worst: %s"%(ps,th,b,eng,math.exp(sum(math.log(r[0]) for r in rows)/len(rows)), ", ".join("%s %.2f"%(r[1].split(' ')[0]+' '+r[1].split(' ')[1],r[0]) for r in rows[:3])))
